"""Move a dead-letter queue's messages back to the queue it serves, in the running local stack: what
`aws sqs start-message-move-task` does on AWS (the emulator does not implement move tasks).

    .venv/bin/python -m local.redrive ConversationDLQ     # or DeliveryDLQ, EmailContentDLQ

The destination is the queue whose redrive policy names the dead-letter queue (as
ListDeadLetterSourceQueues answers); FIFO messages keep their message group. Reads the emulator's
address from the ready document of the stack started by `make run` (`LEADHUB_STATE_DIR`, `.leadhub`).
Prints `{"moved": n, "from": …, "to": …}`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from local import running


class RedriveError(Exception):
    pass


def move_back(sqs: Any, dlq_url: str) -> tuple[int, str]:
    """Move every message of `dlq_url` to the queue it is the dead-letter queue of; (count, that URL)."""
    sources = sqs.list_dead_letter_source_queues(QueueUrl=dlq_url).get("queueUrls", [])
    if len(sources) != 1:
        raise RedriveError(f"{dlq_url} is the dead-letter queue of {len(sources)} queues, not of one")
    [destination] = sources
    fifo = destination.endswith(".fifo")
    moved = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["MessageGroupId"],
        ).get("Messages", [])
        if not messages:
            return moved, destination
        for message in messages:
            fields: dict[str, Any] = {"QueueUrl": destination, "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                fields["MessageAttributes"] = message["MessageAttributes"]
            if fifo:
                fields["MessageGroupId"] = message["Attributes"]["MessageGroupId"]
                fields["MessageDeduplicationId"] = f"redrive-{message['MessageId']}"
            sqs.send_message(**fields)
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.redrive", description=__doc__.split("\n\n")[0])
    parser.add_argument("queue", help="the dead-letter queue's logical id in template.yaml, e.g. DeliveryDLQ")
    args = parser.parse_args(argv)
    try:
        sqs = running.emulator(running.ready_document()).client("sqs")
        moved, destination = move_back(sqs, running.queue_url(sqs, args.queue))
    except (running.NotRunning, running.UnknownQueue, RedriveError) as exc:
        print(f"local.redrive: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"moved": moved, "from": args.queue, "to": destination.rsplit("/", 1)[-1]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
