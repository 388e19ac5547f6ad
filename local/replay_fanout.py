"""Replay the table-stream batches the fan-out gave up on (FanoutFailureQueue).

When EventFanoutFunction fails a stream batch on every retry, Lambda sends a description of the batch
to FanoutFailureQueue: its shard and first and last sequence numbers, never the records. The events of
those records reach no subscriber. Once the cause is fixed, this command reads each described range back
from the table's stream (DynamoDB Streams keeps records for 24 hours), invokes the fan-out with them as
Lambda would, and deletes the failure message once the fan-out succeeded for every record. Replaying is
safe: delivery ids derive from event and endpoint, so a record fanned out before queues nothing twice.

    python -m local.replay_fanout --stack-name leadhub [--region eu-west-1] [--dry-run]
    python -m local.replay_fanout --local          # the local stack started by `make run`

Prints one JSON line per failure message (`outcome`: replayed, still_failing, expired, unreadable or
dry_run) and a summary; exits 1 unless every message was replayed. Messages that were not replayed stay
in the queue. Needs cloudformation:DescribeStackResource, sqs:ReceiveMessage/DeleteMessage/
ChangeMessageVisibility on the queue, dynamodb:GetShardIterator/GetRecords on the stream and
lambda:InvokeFunction on the fan-out.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from local import running
from local.emulator import ClientFactory
from local.pollers import MalformedBatchResponse, failed_item_ids, sequence_number, stream_event

FAILURE_QUEUE, FANOUT_FUNCTION = "FanoutFailureQueue", "EventFanoutFunction"  # logical ids
# The fan-out's response to a stream event (a partial batch response); raises FanoutFailed.
Invoke = Callable[[dict[str, Any]], Any]

# Lambda's synchronous invocation payload limit is 6 MB; larger batches are replayed in halves.
MAX_PAYLOAD_BYTES = 5_000_000
# Hidden from other readers while this run works on them; released at the end if not replayed.
WORK_VISIBILITY_S = 900
# An open shard answers empty pages at its tip; the range was written before it was reported.
MAX_EMPTY_READS = 10
# What DynamoDB Streams answers for a range it no longer holds.
GONE_ERRORS = frozenset(
    {"TrimmedDataAccessException", "ExpiredIteratorException", "ResourceNotFoundException"}
)


class FanoutFailed(Exception):
    """The fan-out raised instead of answering (Lambda's FunctionError)."""


class Outcome(StrEnum):
    REPLAYED = "replayed"  # every record fanned out; the failure message is deleted
    STILL_FAILING = "still_failing"  # the fan-out failed again for some records; the message stays
    EXPIRED = "expired"  # the stream no longer holds (all of) the range; the message stays
    UNREADABLE = "unreadable"  # not a stream batch description; the message stays
    DRY_RUN = "dry_run"  # read, not replayed


@dataclass(frozen=True, slots=True)
class BatchRange:
    stream_arn: str
    shard_id: str
    start: str
    end: str
    size: int

    @classmethod
    def from_failure(cls, body: str) -> BatchRange:
        """The range of Lambda's on-failure record for a stream batch; ValueError if it is not one."""
        try:
            info = json.loads(body)["DDBStreamBatchInfo"]
            return cls(
                stream_arn=str(info["streamArn"]),
                shard_id=str(info["shardId"]),
                start=str(int(info["startSequenceNumber"])),
                end=str(int(info["endSequenceNumber"])),
                size=int(info["batchSize"]),
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(
                f"not a DynamoDB stream batch failure record ({type(exc).__name__}: {exc})"
            ) from None


@dataclass(slots=True)
class Replayed:
    message_id: str
    outcome: Outcome
    shard_id: str | None = None
    start: str | None = None
    end: str | None = None
    expected: int | None = None  # records in the failed batch
    found: int = 0  # records still in the stream
    failed: list[str] = field(default_factory=list)  # sequence numbers the fan-out failed again
    detail: str | None = None


def read_range(streams: Any, batch: BatchRange) -> list[dict[str, Any]]:
    """The records of `batch` still in the stream, in order (GetRecords format). Raises ClientError."""
    iterator = streams.get_shard_iterator(
        StreamArn=batch.stream_arn,
        ShardId=batch.shard_id,
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=batch.start,
    )["ShardIterator"]
    end, records, empty_reads = int(batch.end), [], 0
    while iterator and empty_reads < MAX_EMPTY_READS:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        for record in page["Records"]:
            if int(sequence_number(record)) > end:
                return records
            records.append(record)
        if records and int(sequence_number(records[-1])) == end:
            return records
        empty_reads = 0 if page["Records"] else empty_reads + 1
        iterator = page.get("NextShardIterator")
    return records


def invoke_fanout(records: Sequence[dict[str, Any]], stream_arn: str, invoke: Invoke) -> list[str]:
    """Invoke the fan-out with `records` (in halves while the payload is too large); the sequence numbers
    it failed. Raises FanoutFailed."""
    event = stream_event(records, stream_arn)
    if len(records) > 1 and len(json.dumps(event)) > MAX_PAYLOAD_BYTES:
        first, rest = records[: len(records) // 2], records[len(records) // 2 :]
        return invoke_fanout(first, stream_arn, invoke) + invoke_fanout(rest, stream_arn, invoke)
    try:
        return failed_item_ids(invoke(event), [sequence_number(r) for r in records])
    except MalformedBatchResponse as exc:
        raise FanoutFailed(f"the fan-out's response is not a partial batch response: {exc}") from None


def replay_message(message: dict[str, Any], streams: Any, invoke: Invoke, *, dry_run: bool) -> Replayed:
    result = Replayed(message["MessageId"], Outcome.UNREADABLE)
    try:
        batch = BatchRange.from_failure(message["Body"])
    except ValueError as exc:
        result.detail = str(exc)
        return result
    result.shard_id, result.start, result.end, result.expected = (
        batch.shard_id,
        batch.start,
        batch.end,
        batch.size,
    )
    try:
        records = read_range(streams, batch)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code not in GONE_ERRORS:
            raise
        result.outcome, result.detail = Outcome.EXPIRED, f"the stream no longer holds the range ({code})"
        return result
    result.found = len(records)
    if not records:
        result.outcome, result.detail = Outcome.EXPIRED, "the stream no longer holds the range"
        return result
    if dry_run:
        result.outcome = Outcome.DRY_RUN
        return result
    try:
        result.failed = invoke_fanout(records, batch.stream_arn, invoke)
    except FanoutFailed as exc:
        result.outcome, result.detail = Outcome.STILL_FAILING, str(exc)
        return result
    if result.failed:
        result.outcome = Outcome.STILL_FAILING
    elif len(records) < batch.size:
        result.outcome = Outcome.EXPIRED
        result.detail = f"replayed the {len(records)} records left of {batch.size}; the others expired"
    else:
        result.outcome = Outcome.REPLAYED
    return result


def replay(
    sqs: Any,
    streams: Any,
    queue_url: str,
    invoke: Invoke,
    *,
    dry_run: bool = False,
    report: Callable[[Replayed], None] = lambda _: None,
) -> list[Replayed]:
    """Replay every message of the failure queue (see the module docstring); one result per message.
    Messages not replayed are made visible again when the run ends, however it ends."""
    results: list[Replayed] = []
    kept: list[str] = []
    try:
        while True:
            messages = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=WORK_VISIBILITY_S
            ).get("Messages", [])
            if not messages:
                return results
            for message in messages:
                kept.append(message["ReceiptHandle"])  # until replayed: also if this run stops here
                result = replay_message(message, streams, invoke, dry_run=dry_run)
                if result.outcome is Outcome.REPLAYED:
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=kept.pop())
                results.append(result)
                report(result)
    finally:
        for receipt_handle in kept:  # visible again for the next run
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=0
            )


def lambda_invoker(lambda_client: Any, function_name: str) -> Invoke:
    """An `Invoke` through Lambda's synchronous Invoke API."""

    def invoke(event: dict[str, Any]) -> Any:
        response = lambda_client.invoke(FunctionName=function_name, Payload=json.dumps(event).encode())
        raw = response["Payload"].read()
        payload = json.loads(raw) if raw else None
        if response.get("FunctionError"):
            error = payload if isinstance(payload, dict) else {}
            raise FanoutFailed(
                f"{response['FunctionError']}: {error.get('errorType', '?')}: {error.get('errorMessage', '')}"
            )
        return payload

    return invoke


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.replay_fanout", description=__doc__.split("\n\n")[0]
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--stack-name", help="the deployed stack (sam deploy's stack_name)")
    target.add_argument("--local", action="store_true", help="the local stack started by `make run`")
    parser.add_argument("--region", help="the stack's region (default: your AWS configuration's)")
    parser.add_argument("--dry-run", action="store_true", help="read the ranges, replay nothing")
    args = parser.parse_args(argv)

    if args.local:
        try:
            ready = running.ready_document()
        except running.NotRunning as exc:
            parser.error(str(exc))
        emulator = running.emulator(ready)
        sqs, streams = emulator.client("sqs"), emulator.client("dynamodbstreams")
        queue_url = running.queue_url(sqs, FAILURE_QUEUE)
        # Lambda's Invoke API is served on the local stack's HTTP port (local.lambda_api).
        invoke = lambda_invoker(ClientFactory(ready["api"]).client("lambda"), FANOUT_FUNCTION)
    else:
        import boto3  # dev dependency: this command runs from an operator's machine, never in a function

        session = boto3.Session(region_name=args.region)

        def physical_id(logical_id: str) -> str:
            resource = session.client("cloudformation").describe_stack_resource(
                StackName=args.stack_name, LogicalResourceId=logical_id
            )
            return str(resource["StackResourceDetail"]["PhysicalResourceId"])

        sqs, streams = session.client("sqs"), session.client("dynamodbstreams")
        queue_url = physical_id(FAILURE_QUEUE)  # a queue's physical id is its URL
        invoke = lambda_invoker(session.client("lambda"), physical_id(FANOUT_FUNCTION))

    results = replay(
        sqs,
        streams,
        queue_url,
        invoke,
        dry_run=args.dry_run,
        report=lambda result: print(json.dumps(asdict(result)), flush=True),
    )
    counts: dict[str, int] = {}
    for result in results:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    print(json.dumps({"messages": len(results), **counts}))
    return 0 if all(r.outcome is Outcome.REPLAYED for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
