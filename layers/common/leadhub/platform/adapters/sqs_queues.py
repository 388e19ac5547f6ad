"""SQS job queues: a received message's next attempt can be pushed back (`delay`), and JSON jobs are
sent one at a time, on a FIFO queue in a message group. The delivery queue adds batches of delivery jobs
(outbound.adapters.sqs_delivery_queue)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from leadhub.platform.adapters.aws_clients import ClientFactory, client, storage_errors


class SqsQueue:
    """One queue, on the cached SQS client; a received message's next attempt can be pushed back."""

    def __init__(self, queue_url: str, clients: ClientFactory = client) -> None:
        self._url = queue_url
        self._clients = clients

    @property
    def _sqs(self) -> Any:
        return self._clients("sqs")

    def delay(self, receipt_handle: str, seconds: int) -> None:
        """The message becomes visible again (for its next attempt) after `seconds`."""
        with storage_errors("schedule retry"):
            self._sqs.change_message_visibility(
                QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )


class SqsJsonQueue(SqsQueue):
    """A queue of JSON job messages (inbound emails to complete, conversations to answer)."""

    def send(
        self, body: Mapping[str, object], *, group_id: str | None = None, dedupe_id: str | None = None
    ) -> None:
        """Enqueue; on a FIFO queue in `group_id`, and a send with the same `dedupe_id` within five minutes
        is dropped by SQS (a stream record processed twice)."""
        request: dict[str, Any] = {"QueueUrl": self._url, "MessageBody": json.dumps(dict(body))}
        if group_id is not None:
            request["MessageGroupId"] = group_id
        if dedupe_id is not None:
            request["MessageDeduplicationId"] = dedupe_id
        with storage_errors("queue job"):
            self._sqs.send_message(**request)
