"""The template's event source mappings: SQS queue and DynamoDB stream consumers, run the way Lambda's
pollers run them.

One daemon thread per event source. `SqsPoller` long-polls its queue, invokes the function with
Lambda's SQS event and deletes what succeeded; what failed stays in the queue, so its visibility
timeout (possibly changed by the function) and the queue's redrive policy (enforced by the emulator
on receive) decide what happens next, exactly as on AWS. `StreamPoller` reads every shard of a
DynamoDB stream in order, at Lambda's pace (`STREAM_POLL_INTERVAL_S`), keeps a checkpoint per shard,
and implements Lambda's stream error handling: partial batch responses, retries with backoff,
bisection, ``MaximumRetryAttempts`` and the on-failure destination.

The functions here build events and parse responses without I/O; the pollers do the I/O. Stop the
pollers before closing the function pools: a poller never counts an invocation that ended while it
was stopping, but an invoker that fails fast can still burn through a stream batch's retries.
Logs never include message bodies or record images.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from local import settings
from local.emulator import ClientFactory
from local.sam import FunctionSpec, SqsEventSource, StreamEventSource
from local.workers import InvokeResult, LogSink

Invoker = Callable[[str, dict[str, Any], str | None], InvokeResult]

LOG_PREFIX = "poller"
SQS_MAX_MESSAGES_PER_RECEIVE = 10
SQS_LONG_POLL_S = 1  # short, so that stop() is prompt
FIFO_IDLE_S = 0.1
# Lambda reads a DynamoDB stream's shard about 4 times a second while it has caught up; a read that
# fills the batch is followed by the next one at once.
STREAM_POLL_INTERVAL_S = 0.25
STREAM_MAX_RECORDS_PER_READ = 1000
STREAM_SHARD_REFRESH_S = 10.0
BACKOFF_MIN_S = 0.2
BACKOFF_MAX_S = 2.0
STREAM_ITERATOR_TYPES = ("TRIM_HORIZON", "LATEST")

# The order of the system attributes in Lambda's SQS records (FIFO ones only on FIFO queues).
SQS_ATTRIBUTE_ORDER = (
    "ApproximateReceiveCount",
    "AWSTraceHeader",
    "SentTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "SenderId",
    "MessageDeduplicationId",
    "ApproximateFirstReceiveTimestamp",
)


class Poller(Protocol):
    def start(self) -> None: ...

    def stop(self, timeout: float = 5.0) -> None: ...


# ---------------------------------------------------------------------------------------------
# Events and responses (no I/O)
# ---------------------------------------------------------------------------------------------


def region_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else settings.REGION


def backoff_delay(failures: int) -> float:
    """Delay before the next attempt after *failures* consecutive failures: 0.2 s doubling to 2 s."""
    return min(BACKOFF_MAX_S, BACKOFF_MIN_S * 2 ** max(0, failures - 1))


def _base64(value: bytes | bytearray | str) -> str:
    """Base64 text of a binary value. boto3 hands out binaries as bytes; text is already base64 (the
    wire form), so it is passed through."""
    if isinstance(value, str):
        return value
    return base64.b64encode(bytes(value)).decode("ascii")


def sqs_message_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """SQS message attributes as Lambda spells them (camelCase, binaries as base64 text)."""
    converted: dict[str, dict[str, Any]] = {}
    for name, value in attributes.items():
        entry: dict[str, Any] = {}
        if value.get("StringValue") is not None:
            entry["stringValue"] = value["StringValue"]
        if value.get("BinaryValue") is not None:
            entry["binaryValue"] = _base64(value["BinaryValue"])
        entry["stringListValues"] = list(value.get("StringListValues") or [])
        entry["binaryListValues"] = [_base64(item) for item in value.get("BinaryListValues") or []]
        entry["dataType"] = value.get("DataType", "String")
        converted[name] = entry
    return converted


def sqs_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """One record of Lambda's SQS event for a message as ReceiveMessage returns it."""
    raw_attributes: Mapping[str, str] = message.get("Attributes") or {}
    attributes = {name: raw_attributes[name] for name in SQS_ATTRIBUTE_ORDER if name in raw_attributes}
    attributes.update({name: value for name, value in raw_attributes.items() if name not in attributes})
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": attributes,
        "messageAttributes": sqs_message_attributes(message.get("MessageAttributes") or {}),
        "md5OfBody": message.get("MD5OfBody", ""),
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record["eventSource"] = "aws:sqs"
    record["eventSourceARN"] = queue_arn
    record["awsRegion"] = region_of(queue_arn)
    return record


def sqs_event(messages: Iterable[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {"Records": [sqs_record(message, queue_arn) for message in messages]}


def attribute_value(value: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB JSON attribute value as it appears in Lambda events (binaries as base64 text)."""
    if len(value) != 1:
        raise ValueError(f"an attribute value has exactly one type key, got {sorted(value)}")
    [(kind, inner)] = value.items()
    if kind == "B":
        return {"B": _base64(inner)}
    if kind == "BS":
        return {"BS": [_base64(item) for item in inner]}
    if kind == "M":
        return {"M": image(inner)}
    if kind == "L":
        return {"L": [attribute_value(item) for item in inner]}
    if kind in ("SS", "NS"):
        return {kind: list(inner)}
    return {kind: inner}


def image(item: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: attribute_value(value) for name, value in item.items()}


def _epoch_seconds(value: Any) -> int:
    """Stream timestamps are whole epoch seconds in Lambda events; boto3 parses them to datetimes."""
    if isinstance(value, datetime):
        return int(value.timestamp())
    return int(float(value))


def _iso_seconds(value: Any) -> str | None:
    if value is None:
        return None
    return datetime.fromtimestamp(_epoch_seconds(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sequence_number(record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def stream_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """One record of Lambda's DynamoDB event for a record as GetRecords returns it."""
    source = record.get("dynamodb") or {}
    data: dict[str, Any] = {}
    if source.get("ApproximateCreationDateTime") is not None:
        data["ApproximateCreationDateTime"] = _epoch_seconds(source["ApproximateCreationDateTime"])
    data["Keys"] = image(source.get("Keys") or {})
    for name in ("NewImage", "OldImage"):
        if source.get(name) is not None:
            data[name] = image(source[name])
    data["SequenceNumber"] = str(source["SequenceNumber"])
    data["SizeBytes"] = int(source.get("SizeBytes") or 0)
    data["StreamViewType"] = source.get("StreamViewType")
    converted: dict[str, Any] = {
        "eventID": record.get("eventID") or uuid.uuid4().hex,
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        # From the ARN: the emulator reports us-east-1 whatever the table's region.
        "awsRegion": region_of(stream_arn),
        "dynamodb": data,
    }
    if record.get("userIdentity"):  # TTL deletions
        converted["userIdentity"] = dict(record["userIdentity"])
    converted["eventSourceARN"] = stream_arn
    return converted


def stream_event(records: Iterable[Mapping[str, Any]], stream_arn: str) -> dict[str, Any]:
    return {"Records": [stream_record(record, stream_arn) for record in records]}


class MalformedBatchResponse(ValueError):
    """A ReportBatchItemFailures response Lambda would reject: the whole batch counts as failed."""


def failed_item_ids(result: Any, batch_ids: Collection[str]) -> list[str]:
    """The item identifiers a function's partial batch response names as failed, in response order,
    without duplicates. Empty means the whole batch succeeded (a null or empty response, or a null or
    empty ``batchItemFailures``). Raises `MalformedBatchResponse` where Lambda treats the whole batch
    as failed: a response that is not an object, an entry without ``itemIdentifier``, an empty or
    null identifier, or one that names no item of the batch."""
    if result is None:
        return []
    if not isinstance(result, dict):
        raise MalformedBatchResponse(f"the response is a {type(result).__name__}, not an object")
    failures = result.get("batchItemFailures")
    if failures is None:
        return []
    if not isinstance(failures, list):
        raise MalformedBatchResponse("batchItemFailures is not a list")
    known = set(batch_ids)
    failed: list[str] = []
    for entry in failures:
        if not isinstance(entry, dict) or "itemIdentifier" not in entry:
            raise MalformedBatchResponse("a batchItemFailures entry has no itemIdentifier")
        identifier = entry["itemIdentifier"]
        if not isinstance(identifier, str) or not identifier:
            raise MalformedBatchResponse("an itemIdentifier is empty or null")
        if identifier not in known:
            raise MalformedBatchResponse("an itemIdentifier names no item of the batch")
        if identifier not in failed:
            failed.append(identifier)
    return failed


def _timestamp_ms(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def stream_failure_record(
    *,
    records: Sequence[Mapping[str, Any]],
    shard_id: str,
    stream_arn: str,
    function_arn: str,
    request_id: str,
    invoke_count: int,
    function_error: str | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Lambda's on-failure destination record for a stream batch whose retries ran out."""
    response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error:
        response_context["functionError"] = function_error
    first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
    return {
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": response_context,
        "version": "1.0",
        "timestamp": _timestamp_ms(now or datetime.now(UTC)),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": str(first["SequenceNumber"]),
            "endSequenceNumber": str(last["SequenceNumber"]),
            "approximateArrivalOfFirstRecord": _iso_seconds(first.get("ApproximateCreationDateTime")),
            "approximateArrivalOfLastRecord": _iso_seconds(last.get("ApproximateCreationDateTime")),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


def describe_error(exc: BaseException) -> str:
    """A short, body-free description of an emulator or runtime error for the log."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error") or {}
        operation = getattr(exc, "operation_name", "request")
        code = error.get("Code", "?")
        message = str(error.get("Message") or "")
        if message.lstrip().startswith("<"):  # the emulator's HTML error page
            message = ""
        return f"{operation} failed: {code}" + (f" {message.splitlines()[0][:160]}" if message else "")
    if isinstance(exc, BotoCoreError):
        return f"emulator unreachable ({type(exc).__name__})"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"


def _invoke_failure(result: InvokeResult) -> str:
    error_type = str((result.error or {}).get("errorType") or "Unknown")
    return f"{error_type}, timed out" if result.timed_out else error_type


# ---------------------------------------------------------------------------------------------
# Pollers
# ---------------------------------------------------------------------------------------------


class _PollerThread:
    """A daemon thread calling `_poll_once` until stopped; it survives any error (logged, backed off)."""

    def __init__(self, name: str, sink: LogSink) -> None:
        self.name = name
        self.sink = sink
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._errors = 0

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=f"poller-{self.name}", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        self._stopping.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                self.log(f"still busy {timeout:.0f}s after stop (an invocation in progress?)")

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def log(self, text: str) -> None:
        self.sink.write(LOG_PREFIX, f"{self.name}: {text}")

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._poll_once()
                self._errors = 0
            except Exception as exc:  # a poller must outlive any emulator or runtime hiccup
                self._errors += 1
                delay = backoff_delay(self._errors)
                self.log(f"{describe_error(exc)}; retrying in {delay:.1f}s")
                self._stopping.wait(delay)

    def _poll_once(self) -> None:
        raise NotImplementedError


class SqsPoller(_PollerThread):
    """Lambda's SQS event source mapping for one queue. One batch is in flight at a time, which keeps
    within any ScalingConfig.MaximumConcurrency (at least 2 on Lambda)."""

    def __init__(
        self, source: SqsEventSource, clients: ClientFactory, invoke: Invoker, sink: LogSink
    ) -> None:
        super().__init__(f"{source.function_id}/{source.event_name}", sink)
        self.source = source
        self.clients = clients
        self.invoke = invoke
        self.queue_name = source.queue_arn.split(":")[-1]
        self.fifo = self.queue_name.endswith(".fifo")
        self.queue_url: str | None = None
        self._failed_batches = 0

    def _poll_once(self) -> None:
        sqs = self.clients.client("sqs")
        if self.queue_url is None:
            self.queue_url = sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
        try:
            messages = self._gather(sqs)
        except (ClientError, BotoCoreError):
            self.queue_url = None  # look it up again: the queue may have been recreated
            raise
        if messages and not self._stopping.is_set():
            self._process(sqs, messages)

    def _receive(self, sqs: Any, count: int, wait_s: int) -> list[dict[str, Any]]:
        response = sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait_s,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages") or [])

    def _gather(self, sqs: Any) -> list[dict[str, Any]]:
        """Up to BatchSize messages: what one receive returns, or more until the batching window
        closes. FIFO queues have no batching window on Lambda."""
        target = max(1, self.source.batch_size)
        window = 0.0 if self.fifo else self.source.batching_window_s
        batch: dict[str, dict[str, Any]] = {}  # by message id: a re-received message keeps its newest handle
        closes_at: float | None = None
        while len(batch) < target and not self._stopping.is_set():
            if closes_at is None:
                # The emulator busy-waits through a FIFO long poll while a group is blocked; short-poll.
                wait_s = 0 if self.fifo else SQS_LONG_POLL_S
            else:
                left = closes_at - time.monotonic()
                if window <= 0 or left <= 0:
                    break
                wait_s = SQS_LONG_POLL_S if left >= SQS_LONG_POLL_S else 0
            asked = time.monotonic()
            received = self._receive(sqs, min(SQS_MAX_MESSAGES_PER_RECEIVE, target - len(batch)), wait_s)
            if received:
                if closes_at is None:
                    closes_at = time.monotonic() + window
                batch.update((message["MessageId"], message) for message in received)
            elif closes_at is None:
                if time.monotonic() - asked < FIFO_IDLE_S:  # a short poll: do not spin
                    self._stopping.wait(FIFO_IDLE_S)
                return []
            elif wait_s == 0:
                self._stopping.wait(min(0.05, max(0.0, closes_at - time.monotonic())))
        return list(batch.values())

    def _process(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        count = len(messages)
        result = self.invoke(self.source.function_id, sqs_event(messages, self.source.queue_arn), None)
        if not result.ok:
            self._failed_batches += 1
            self.log(
                f"batch of {count} failed ({_invoke_failure(result)}); "
                "its messages return after their visibility timeout"
            )
            self._stopping.wait(backoff_delay(self._failed_batches))
            return
        failed: set[str] = set()
        if self.source.report_batch_item_failures:
            try:
                failed = set(failed_item_ids(result.result, [m["MessageId"] for m in messages]))
            except MalformedBatchResponse as exc:
                self._failed_batches += 1
                self.log(f"batch of {count}: invalid partial batch response ({exc}); the whole batch failed")
                return
        self._failed_batches = 0
        if failed:
            self.log(f"batch of {count}: {len(failed)} failed; they return after their visibility timeout")
        self._delete(sqs, [m for m in messages if m["MessageId"] not in failed])

    def _delete(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), SQS_MAX_MESSAGES_PER_RECEIVE):
            chunk = messages[start : start + SQS_MAX_MESSAGES_PER_RECEIVE]
            try:
                response = sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
                    ],
                )
            except (ClientError, BotoCoreError) as exc:
                self.log(f"{describe_error(exc)}; {len(chunk)} processed message(s) will be redelivered")
                continue
            failed = response.get("Failed") or []
            if failed:
                codes = sorted({str(entry.get("Code")) for entry in failed})
                self.log(f"could not delete {len(failed)} processed message(s) ({', '.join(codes)})")


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    start: str  # the iterator type used while nothing has been read
    iterator: str | None = None
    last_read: str | None = None  # sequence number of the newest record read (buffered or done)
    closed: bool = False  # the shard ended: no NextShardIterator
    buffer: list[dict[str, Any]] = field(default_factory=list)  # read, not yet checkpointed
    buffered_since: float = 0.0
    # Sizes of the batches due next at the head of the buffer: the batch being retried, or the
    # halves of a bisected one. Empty: the next batch is a fresh one of up to BatchSize records.
    pending_sizes: list[int] = field(default_factory=list)
    attempts: int = 0  # failed invocations of the head batch that count against MaximumRetryAttempts
    invocations: int = 0  # invocations of the head batch
    failures: int = 0  # consecutive failures, for the backoff
    retry_at: float = 0.0
    next_read_at: float = 0.0  # the shard had caught up: not read again before this
    read_errors: int = 0
    # An exhausted batch's on-failure record, and how many records it covers, until it is sent.
    pending_failure: tuple[dict[str, Any], int] | None = None

    @property
    def finished(self) -> bool:
        return self.closed and not self.buffer and self.pending_failure is None


class StreamPoller(_PollerThread):
    """Lambda's DynamoDB stream event source mapping for one stream, with one batch per shard in flight
    (ParallelizationFactor 1)."""

    def __init__(
        self,
        source: StreamEventSource,
        function_arn: str,
        clients: ClientFactory,
        invoke: Invoker,
        sink: LogSink,
    ) -> None:
        super().__init__(f"{source.function_id}/{source.event_name}", sink)
        self.source = source
        self.function_arn = function_arn
        self.clients = clients
        self.invoke = invoke
        self.shards: dict[str, _Shard] = {}
        self._next_refresh = 0.0
        self._refreshed = False
        self._starting_position = source.starting_position
        if self._starting_position not in STREAM_ITERATOR_TYPES:
            self.log(f"StartingPosition {self._starting_position} is not supported; using TRIM_HORIZON")
            self._starting_position = "TRIM_HORIZON"

    @property
    def batch_size(self) -> int:
        return max(1, self.source.batch_size)

    def _poll_once(self) -> None:
        now = time.monotonic()
        if now >= self._next_refresh:
            self._refresh_shards()
            self._next_refresh = now + STREAM_SHARD_REFRESH_S
        worked = False
        for shard in list(self.shards.values()):
            if self._stopping.is_set():
                return
            parent = self.shards.get(shard.parent_id) if shard.parent_id else None
            if shard.finished or (parent is not None and not parent.finished):
                continue  # a child shard waits until its parent is read to the end, as on Lambda
            worked = self._step(shard) or worked
        if not worked:
            self._stopping.wait(self._idle_wait())

    def _idle_wait(self) -> float:
        now = time.monotonic()
        waits = [STREAM_POLL_INTERVAL_S]
        for shard in self.shards.values():
            if shard.next_read_at > now:
                waits.append(shard.next_read_at - now)
            if shard.retry_at > now:
                waits.append(shard.retry_at - now)
            if shard.buffer and self.source.batching_window_s > 0:
                waits.append(shard.buffered_since + self.source.batching_window_s - now)
        return max(0.01, min(waits))

    def _refresh_shards(self) -> None:
        streams = self.clients.client("dynamodbstreams")
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamArn": self.source.stream_arn}
        while True:
            description = streams.describe_stream(**kwargs)["StreamDescription"]
            found.extend(description.get("Shards") or [])
            last = description.get("LastEvaluatedShardId")
            if not last:
                break
            kwargs["ExclusiveStartShardId"] = last
        for shard in found:
            shard_id = shard["ShardId"]
            if shard_id not in self.shards:
                # Shards that appear later (splits) are read from their start.
                start = self._starting_position if not self._refreshed else "TRIM_HORIZON"
                self.shards[shard_id] = _Shard(shard_id, shard.get("ParentShardId"), start)
        self._refreshed = True

    # -- one shard --------------------------------------------------------------------------

    def _step(self, shard: _Shard) -> bool:
        """Read and/or process one batch of *shard*; whether anything happened."""
        if shard.pending_failure is not None:
            self._send_failure(shard)
            return True
        if time.monotonic() < shard.retry_at:
            return False
        worked = False
        if (
            not shard.closed
            and len(shard.buffer) < self.batch_size
            and time.monotonic() >= shard.next_read_at
        ):
            worked = self._read(shard)
        if self._batch_due(shard) and not self._stopping.is_set():
            self._run_batch(shard)
            worked = True
        return worked

    def _batch_due(self, shard: _Shard) -> bool:
        if not shard.buffer:
            return False
        if shard.pending_sizes or shard.closed or len(shard.buffer) >= self.batch_size:
            return True
        window = self.source.batching_window_s
        return window <= 0 or time.monotonic() - shard.buffered_since >= window

    def _read(self, shard: _Shard) -> bool:
        streams = self.clients.client("dynamodbstreams")
        if shard.iterator is None:
            kwargs: dict[str, Any] = {"StreamArn": self.source.stream_arn, "ShardId": shard.shard_id}
            if shard.last_read is not None:
                kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=shard.last_read)
            else:
                kwargs["ShardIteratorType"] = shard.start
            shard.iterator = streams.get_shard_iterator(**kwargs).get("ShardIterator")
            if shard.iterator is None:
                shard.closed = True
                return False
        limit = min(STREAM_MAX_RECORDS_PER_READ, self.batch_size - len(shard.buffer))
        try:
            response = streams.get_records(ShardIterator=shard.iterator, Limit=limit)
        except ClientError as exc:
            # An expired iterator, or one the emulator forgot (it answers 500 then): get a new one
            # after the last record read.
            shard.iterator = None
            shard.read_errors += 1
            shard.retry_at = time.monotonic() + backoff_delay(shard.read_errors)
            self.log(f"shard {shard.shard_id}: {describe_error(exc)}; re-acquiring its iterator")
            return False
        shard.read_errors = 0
        records = list(response.get("Records") or [])
        if len(records) < limit:
            shard.next_read_at = time.monotonic() + STREAM_POLL_INTERVAL_S
        shard.iterator = response.get("NextShardIterator")
        if shard.iterator is None:
            shard.closed = True
        if records:
            if not shard.buffer:
                shard.buffered_since = time.monotonic()
            shard.buffer.extend(records)
            shard.last_read = sequence_number(records[-1])
        return bool(records)

    def _run_batch(self, shard: _Shard) -> None:
        size = min(shard.pending_sizes[0] if shard.pending_sizes else self.batch_size, len(shard.buffer))
        batch = shard.buffer[:size]
        request_id = str(uuid.uuid4())
        event = stream_event(batch, self.source.stream_arn)
        result = self.invoke(self.source.function_id, event, request_id)
        if self._stopping.is_set() and not result.ok:
            return  # the stack is going away: this is no verdict on the batch
        shard.invocations += 1
        if not result.ok:
            self._batch_failed(shard, size, request_id, f"failed ({_invoke_failure(result)})")
            return
        numbers = [sequence_number(record) for record in batch]
        failed: list[str] = []
        if self.source.report_batch_item_failures:
            try:
                failed = failed_item_ids(result.result, numbers)
            except MalformedBatchResponse as exc:
                self._batch_failed(
                    shard, size, request_id, f"returned an invalid partial batch response ({exc})"
                )
                return
        if not failed:
            self._complete(shard, size)
            return
        # Checkpoint just before the lowest failed sequence number; retry from there.
        first = min(numbers.index(number) for number in failed)
        del shard.buffer[:first]
        remaining = size - first
        self._pin_head(shard, remaining)
        shard.attempts += 1
        self.log(
            f"shard {shard.shard_id}: {len(failed)} of {size} records failed; "
            f"retrying from sequence number {numbers[first]}"
        )
        self._after_failure(shard, remaining, request_id, None)

    @staticmethod
    def _pin_head(shard: _Shard, size: int) -> None:
        if shard.pending_sizes:
            shard.pending_sizes[0] = size
        else:
            shard.pending_sizes.append(size)

    def _batch_failed(self, shard: _Shard, size: int, request_id: str, what: str) -> None:
        if self.source.bisect_on_error and size > 1:
            half = (size + 1) // 2
            shard.pending_sizes[0:1] = [half, size - half]
            # Each half is a batch of its own; splitting does not count against the retry quota.
            shard.attempts = shard.invocations = 0
            shard.failures += 1
            shard.retry_at = time.monotonic() + backoff_delay(shard.failures)
            self.log(f"shard {shard.shard_id}: batch of {size} {what}; bisecting into {half} + {size - half}")
            return
        self._pin_head(shard, size)
        shard.attempts += 1
        self.log(f"shard {shard.shard_id}: batch of {size} {what}")
        self._after_failure(shard, size, request_id, "Unhandled")

    def _after_failure(self, shard: _Shard, size: int, request_id: str, function_error: str | None) -> None:
        limit = self.source.maximum_retry_attempts
        if limit < 0 or shard.attempts <= limit:
            shard.failures += 1
            shard.retry_at = time.monotonic() + backoff_delay(shard.failures)
            return
        records = shard.buffer[:size]
        span = f"{sequence_number(records[0])}..{sequence_number(records[-1])}"
        destination = self.source.on_failure_arn
        if destination is None:
            self.log(f"shard {shard.shard_id}: retries exhausted; skipping {size} record(s) {span}")
            self._complete(shard, size)
            return
        self.log(f"shard {shard.shard_id}: retries exhausted; {size} record(s) {span} go to {destination}")
        record = stream_failure_record(
            records=records,
            shard_id=shard.shard_id,
            stream_arn=self.source.stream_arn,
            function_arn=self.function_arn,
            request_id=request_id,
            invoke_count=shard.invocations,
            function_error=function_error,
        )
        shard.pending_failure = (record, size)
        self._send_failure(shard)

    def _send_failure(self, shard: _Shard) -> None:
        """Deliver the pending on-failure record; on an error it stays pending (the caller backs off)."""
        assert shard.pending_failure is not None
        record, size = shard.pending_failure
        destination = self.source.on_failure_arn or ""
        service = destination.split(":")[2] if destination.count(":") >= 5 else ""
        body = json.dumps(record)
        if service == "sqs":
            sqs = self.clients.client("sqs")
            url = sqs.get_queue_url(QueueName=destination.split(":")[-1])["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=body)
        elif service == "sns":
            self.clients.client("sns").publish(TopicArn=destination, Message=body)
        else:
            self.log(f"on-failure destination {destination} is not emulated (SQS and SNS are); dropped")
        shard.pending_failure = None
        self._complete(shard, size)

    @staticmethod
    def _complete(shard: _Shard, size: int) -> None:
        """Checkpoint past the head batch of *size* records."""
        del shard.buffer[:size]
        if shard.pending_sizes:
            shard.pending_sizes.pop(0)
        shard.attempts = shard.invocations = shard.failures = 0
        shard.retry_at = 0.0


def build_pollers(
    specs: Mapping[str, FunctionSpec], clients: ClientFactory, invoke: Invoker, sink: LogSink
) -> list[Poller]:
    """One poller per SQS and DynamoDB event of every function (not started)."""
    pollers: list[Poller] = []
    for spec in specs.values():
        for sqs_source in spec.sqs_sources:
            pollers.append(SqsPoller(sqs_source, clients, invoke, sink))
        for stream_source in spec.stream_sources:
            pollers.append(StreamPoller(stream_source, spec.arn, clients, invoke, sink))
    return pollers


def stop_pollers(pollers: Iterable[Poller], timeout: float = 5.0) -> None:
    """Stop many pollers at once: all are told first, so their long polls end together."""
    pollers = list(pollers)
    for poller in pollers:
        request = getattr(poller, "request_stop", None)
        if request is not None:
            request()
    deadline = time.monotonic() + timeout
    for poller in pollers:
        poller.stop(max(0.0, deadline - time.monotonic()))
