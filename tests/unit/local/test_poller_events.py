"""local.pollers without a network: Lambda's SQS and DynamoDB events, partial batch responses, the
on-failure record, and the pollers' bookkeeping driven through in-memory fakes of the AWS clients."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local import pollers
from local.pollers import (
    MalformedBatchResponse,
    SqsPoller,
    StreamPoller,
    attribute_value,
    backoff_delay,
    build_pollers,
    describe_error,
    failed_item_ids,
    sqs_record,
    stream_failure_record,
    stream_record,
)
from local.sam import FunctionSpec, SqsEventSource, StreamEventSource
from local.workers import InvokeResult, LogSink

QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:work"
FIFO_ARN = "arn:aws:sqs:eu-west-1:123456789012:work.fifo"
STREAM_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/data/stream/2026-11-23T09:00:00.000"
FAILURE_QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:stream-failures"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:consumer"
SHARD = "shardId-00000001541626099285-f35f62ef"
CREATED = datetime(2026, 11, 23, 9, 0, 5, 250000, tzinfo=UTC)


def message(message_id: str, body: str = "hello", **extra: Any) -> dict[str, Any]:
    return {
        "MessageId": message_id,
        "ReceiptHandle": f"rh-{message_id}",
        "MD5OfBody": "5d41402abc4b2a76b9719d911017c592",
        "Body": body,
        "Attributes": {
            "SenderId": "AIDAIT2UOQQY3AUEKVGXU",
            "ApproximateFirstReceiveTimestamp": "1795426090928",
            "SentTimestamp": "1795426090922",
            "ApproximateReceiveCount": "1",
        },
        **extra,
    }


def change(number: int, event_name: str = "INSERT", **images: Any) -> dict[str, Any]:
    """A record as boto3 returns it from dynamodbstreams.get_records."""
    return {
        "eventID": f"e{number}",
        "eventName": event_name,
        "eventVersion": "1.0",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": CREATED,
            "Keys": {"pk": {"S": f"k{number}"}},
            **images,
            "SequenceNumber": str(1000 + number),
            "SizeBytes": 42,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


# ---------------------------------------------------------------------------------------------
# SQS events
# ---------------------------------------------------------------------------------------------


def test_sqs_record_is_lambdas_shape() -> None:
    record = sqs_record(message("m1"), QUEUE_ARN)
    assert record == {
        "messageId": "m1",
        "receiptHandle": "rh-m1",
        "body": "hello",
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1795426090922",
            "SenderId": "AIDAIT2UOQQY3AUEKVGXU",
            "ApproximateFirstReceiveTimestamp": "1795426090928",
        },
        "messageAttributes": {},
        "md5OfBody": "5d41402abc4b2a76b9719d911017c592",
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "eu-west-1",
    }
    assert list(record["attributes"]) == [
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    ]


def test_sqs_record_orders_fifo_attributes_like_lambda() -> None:
    raw = message("m1")
    raw["Attributes"] |= {"MessageGroupId": "g", "MessageDeduplicationId": "d", "SequenceNumber": "18849"}
    assert list(sqs_record(raw, FIFO_ARN)["attributes"]) == [
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SequenceNumber",
        "MessageGroupId",
        "SenderId",
        "MessageDeduplicationId",
        "ApproximateFirstReceiveTimestamp",
    ]


def test_sqs_message_attributes_are_camel_case_with_base64_binaries() -> None:
    raw = message(
        "m1",
        MD5OfMessageAttributes="d79bc1f2343913b986dcd37422966bdd",
        MessageAttributes={
            "text": {"StringValue": "v", "DataType": "String"},
            "blob": {"BinaryValue": b"\x00\x01\xff", "DataType": "Binary"},
            "number": {"StringValue": "3", "DataType": "Number.int"},
            "lists": {"StringListValues": ["a"], "BinaryListValues": [b"\x02"], "DataType": "String"},
        },
    )
    record = sqs_record(raw, QUEUE_ARN)
    assert record["messageAttributes"] == {
        "text": {"stringValue": "v", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "blob": {"binaryValue": "AAH/", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
        "number": {
            "stringValue": "3",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Number.int",
        },
        "lists": {"stringListValues": ["a"], "binaryListValues": ["Ag=="], "dataType": "String"},
    }
    assert record["md5OfMessageAttributes"] == "d79bc1f2343913b986dcd37422966bdd"
    assert list(record)[5:7] == ["md5OfBody", "md5OfMessageAttributes"]


# ---------------------------------------------------------------------------------------------
# DynamoDB stream events
# ---------------------------------------------------------------------------------------------


def test_attribute_values_keep_dynamodb_json_with_base64_binaries() -> None:
    assert attribute_value({"S": "x"}) == {"S": "x"}
    assert attribute_value({"N": "1.5"}) == {"N": "1.5"}
    assert attribute_value({"B": b"\x00\x01"}) == {"B": "AAE="}
    assert attribute_value({"BS": [b"x", b"y"]}) == {"BS": ["eA==", "eQ=="]}
    assert attribute_value({"SS": ["a", "b"]}) == {"SS": ["a", "b"]}
    assert attribute_value({"NS": ["1"]}) == {"NS": ["1"]}
    assert attribute_value({"NULL": True}) == {"NULL": True}
    assert attribute_value({"BOOL": False}) == {"BOOL": False}
    nested = {"M": {"l": {"L": [{"B": b"\x01"}, {"M": {"n": {"N": "2"}}}]}}}
    assert attribute_value(nested) == {"M": {"l": {"L": [{"B": "AQ=="}, {"M": {"n": {"N": "2"}}}]}}}
    with pytest.raises(ValueError, match="exactly one"):
        attribute_value({"S": "x", "N": "1"})


def test_stream_record_is_lambdas_shape() -> None:
    raw = change(
        1,
        "MODIFY",
        NewImage={"pk": {"S": "k1"}, "v": {"N": "2"}, "b": {"B": b"\x00"}},
        OldImage={"pk": {"S": "k1"}, "v": {"N": "1"}},
    )
    record = stream_record(raw, STREAM_ARN)
    assert record == {
        "eventID": "e1",
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1795424405,
            "Keys": {"pk": {"S": "k1"}},
            "NewImage": {"pk": {"S": "k1"}, "v": {"N": "2"}, "b": {"B": "AA=="}},
            "OldImage": {"pk": {"S": "k1"}, "v": {"N": "1"}},
            "SequenceNumber": "1001",
            "SizeBytes": 42,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": STREAM_ARN,
    }
    assert list(record["dynamodb"]) == [
        "ApproximateCreationDateTime",
        "Keys",
        "NewImage",
        "OldImage",
        "SequenceNumber",
        "SizeBytes",
        "StreamViewType",
    ]


def test_stream_record_without_images_and_with_a_ttl_identity() -> None:
    raw = change(2, "REMOVE")
    raw["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    record = stream_record(raw, STREAM_ARN)
    assert "NewImage" not in record["dynamodb"] and "OldImage" not in record["dynamodb"]
    assert record["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert list(record)[-1] == "eventSourceARN"


# ---------------------------------------------------------------------------------------------
# Partial batch responses
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "result",
    [None, {}, {"batchItemFailures": None}, {"batchItemFailures": []}, {"statusCode": 200}],
)
def test_an_empty_or_null_response_means_the_whole_batch_succeeded(result: Any) -> None:
    assert failed_item_ids(result, ["a", "b"]) == []


def test_failed_items_are_named_in_response_order_without_duplicates() -> None:
    result = {
        "batchItemFailures": [{"itemIdentifier": "c"}, {"itemIdentifier": "a"}, {"itemIdentifier": "c"}]
    }
    assert failed_item_ids(result, ["a", "b", "c"]) == ["c", "a"]


@pytest.mark.parametrize(
    "result",
    [
        "ok",
        [{"itemIdentifier": "a"}],
        {"batchItemFailures": {"itemIdentifier": "a"}},
        {"batchItemFailures": ["a"]},
        {"batchItemFailures": [{"itemId": "a"}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": "zzz"}]},
        {"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "zzz"}]},
    ],
)
def test_a_malformed_response_fails_the_whole_batch(result: Any) -> None:
    with pytest.raises(MalformedBatchResponse):
        failed_item_ids(result, ["a", "b"])


# ---------------------------------------------------------------------------------------------
# On-failure record, backoff, error descriptions
# ---------------------------------------------------------------------------------------------


def test_stream_failure_record_is_lambdas_shape() -> None:
    later = change(3)
    later["dynamodb"]["ApproximateCreationDateTime"] = datetime(2026, 11, 23, 9, 0, 9, tzinfo=UTC)
    record = stream_failure_record(
        records=[change(1), change(2), later],
        shard_id=SHARD,
        stream_arn=STREAM_ARN,
        function_arn=FUNCTION_ARN,
        request_id="req-1",
        invoke_count=3,
        function_error="Unhandled",
        now=datetime(2026, 11, 23, 9, 1, 2, 345678, tzinfo=UTC),
    )
    assert record == {
        "requestContext": {
            "requestId": "req-1",
            "functionArn": FUNCTION_ARN,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 3,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-11-23T09:01:02.345Z",
        "DDBStreamBatchInfo": {
            "shardId": SHARD,
            "startSequenceNumber": "1001",
            "endSequenceNumber": "1003",
            "approximateArrivalOfFirstRecord": "2026-11-23T09:00:05Z",
            "approximateArrivalOfLastRecord": "2026-11-23T09:00:09Z",
            "batchSize": 3,
            "streamArn": STREAM_ARN,
        },
    }


def test_a_partial_failure_record_has_no_function_error() -> None:
    record = stream_failure_record(
        records=[change(1)],
        shard_id=SHARD,
        stream_arn=STREAM_ARN,
        function_arn=FUNCTION_ARN,
        request_id="req-1",
        invoke_count=1,
        function_error=None,
    )
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}


def test_backoff_doubles_from_200_ms_to_2_s() -> None:
    assert [backoff_delay(n) for n in range(1, 8)] == [0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0]


def test_error_descriptions_drop_the_emulators_html_pages() -> None:
    html = ClientError(
        {"Error": {"Code": "500", "Message": "<!doctype html>\n<title>500</title>"}}, "GetRecords"
    )
    assert describe_error(html) == "GetRecords failed: 500"
    missing = ClientError(
        {"Error": {"Code": "AWS.SimpleQueueService.NonExistentQueue", "Message": "no such queue"}},
        "GetQueueUrl",
    )
    assert (
        describe_error(missing) == "GetQueueUrl failed: AWS.SimpleQueueService.NonExistentQueue no such queue"
    )


# ---------------------------------------------------------------------------------------------
# Pollers over in-memory fakes
# ---------------------------------------------------------------------------------------------


class FakeSqs:
    """Scripted receives; records deletes and sends."""

    def __init__(self, receives: list[list[dict[str, Any]]] | None = None) -> None:
        self.receives = list(receives or [])
        self.receive_calls: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.sent: list[tuple[str, str]] = []
        self.url_errors = 0

    def get_queue_url(self, QueueName: str) -> dict[str, str]:
        if self.url_errors:
            self.url_errors -= 1
            raise ClientError({"Error": {"Code": "InternalFailure", "Message": "down"}}, "GetQueueUrl")
        return {"QueueUrl": f"http://emulator/{QueueName}"}

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        self.receive_calls.append(kwargs)
        got = self.receives.pop(0) if self.receives else []
        return {"Messages": got} if got else {}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.deleted += [entry["ReceiptHandle"] for entry in Entries]
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries]}

    def send_message(self, QueueUrl: str, MessageBody: str) -> dict[str, Any]:
        self.sent.append((QueueUrl, MessageBody))
        return {"MessageId": "x"}


class FakeStreams:
    """One shard of records; iterators are positions; `lose_iterators` makes the next reads fail
    like the emulator does for an iterator it forgot."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records
        self.lose_iterators = 0
        self.iterator_requests: list[dict[str, Any]] = []
        self.read_at: list[float] = []  # time.monotonic() of every GetRecords

    def describe_stream(self, StreamArn: str) -> dict[str, Any]:
        return {"StreamDescription": {"Shards": [{"ShardId": SHARD}]}}

    def get_shard_iterator(self, **kwargs: Any) -> dict[str, str]:
        self.iterator_requests.append(kwargs)
        kind = kwargs["ShardIteratorType"]
        numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in self.records]
        if kind == "TRIM_HORIZON":
            position = 0
        elif kind == "LATEST":
            position = len(self.records)
        else:
            position = sum(1 for n in numbers if n <= int(kwargs["SequenceNumber"]))
        return {"ShardIterator": str(position)}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        self.read_at.append(time.monotonic())
        if self.lose_iterators:
            self.lose_iterators -= 1
            raise ClientError({"Error": {"Code": "500", "Message": "<html>"}}, "GetRecords")
        start = int(ShardIterator)
        chunk = self.records[start : start + Limit]
        return {"Records": chunk, "NextShardIterator": str(start + len(chunk))}


class FakeClients:
    def __init__(self, **services: Any) -> None:
        self.services = services

    def client(self, service: str) -> Any:
        return self.services[service]


class RecordingInvoker:
    """Answers each invocation with *respond(event)* and remembers the batches it saw."""

    def __init__(self, respond: Callable[[dict[str, Any]], InvokeResult]) -> None:
        self.respond = respond
        self.batches: list[list[str]] = []

    def __call__(self, function_id: str, event: dict[str, Any], request_id: str | None) -> InvokeResult:
        records = event["Records"]
        ids = [r["messageId"] if "messageId" in r else r["dynamodb"]["Keys"]["pk"]["S"] for r in records]
        self.batches.append(ids)
        return self.respond(event)


def ok(result: Any = None) -> InvokeResult:
    return InvokeResult("req", True, result=result)


def error() -> InvokeResult:
    return InvokeResult("req", False, error={"errorType": "RuntimeError", "errorMessage": "secret"})


def sqs_poller(
    fake: FakeSqs, respond: Callable[[dict[str, Any]], InvokeResult], **source: Any
) -> tuple[SqsPoller, RecordingInvoker, io.StringIO]:
    log = io.StringIO()
    invoker = RecordingInvoker(respond)
    spec = SqsEventSource(
        function_id="Fn", event_name="Work", queue_arn=source.pop("arn", QUEUE_ARN), **source
    )
    return SqsPoller(spec, FakeClients(sqs=fake), invoker, LogSink(log)), invoker, log


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pollers, "backoff_delay", lambda failures: 0.0)


def test_sqs_success_deletes_the_whole_batch_and_ignores_failures_without_report_batch_item_failures() -> (
    None
):
    fake = FakeSqs([[message("a"), message("b")]])
    poller, invoker, _ = sqs_poller(fake, lambda event: ok({"batchItemFailures": [{"itemIdentifier": "a"}]}))
    poller._poll_once()
    assert invoker.batches == [["a", "b"]]
    assert fake.deleted == ["rh-a", "rh-b"]
    call = fake.receive_calls[0]
    assert (call["MaxNumberOfMessages"], call["WaitTimeSeconds"]) == (10, 1)
    assert call["MessageAttributeNames"] == ["All"] and call["AttributeNames"] == ["All"]


def test_sqs_partial_failure_deletes_all_but_the_failed_items() -> None:
    fake = FakeSqs([[message("a"), message("b"), message("c")]])
    respond = lambda event: ok({"batchItemFailures": [{"itemIdentifier": "b"}]})  # noqa: E731
    poller, _, log = sqs_poller(fake, respond, report_batch_item_failures=True)
    poller._poll_once()
    assert fake.deleted == ["rh-a", "rh-c"]
    assert "1 failed" in log.getvalue()


@pytest.mark.parametrize("result", [{"batchItemFailures": [{"itemIdentifier": "nope"}]}, "ok"])
def test_sqs_malformed_partial_response_deletes_nothing(result: Any) -> None:
    fake = FakeSqs([[message("a"), message("b")]])
    poller, _, log = sqs_poller(fake, lambda event: ok(result), report_batch_item_failures=True)
    poller._poll_once()
    assert fake.deleted == []
    assert "the whole batch failed" in log.getvalue()


def test_sqs_function_error_deletes_nothing_and_logs_no_error_message() -> None:
    fake = FakeSqs([[message("a", body="a secret body")]])
    poller, _, log = sqs_poller(fake, lambda event: error(), report_batch_item_failures=True)
    poller._poll_once()
    assert fake.deleted == []
    assert "RuntimeError" in log.getvalue()
    assert "secret" not in log.getvalue()


def test_sqs_batching_window_gathers_receives_up_to_the_batch_size() -> None:
    fake = FakeSqs([[message("a")], [message("b"), message("c")], [message("d")]])
    poller, invoker, _ = sqs_poller(fake, lambda event: ok(), batch_size=3, batching_window_s=5)
    poller._poll_once()
    assert invoker.batches == [["a", "b", "c"]]
    assert [call["MaxNumberOfMessages"] for call in fake.receive_calls] == [3, 2]


def test_sqs_batching_window_keeps_the_newest_receipt_of_a_message_received_twice() -> None:
    again = message("a")
    again["ReceiptHandle"] = "rh-a-2"
    fake = FakeSqs([[message("a")], [again, message("b")]])
    poller, invoker, _ = sqs_poller(fake, lambda event: ok(), batch_size=2, batching_window_s=5)
    poller._poll_once()
    assert invoker.batches == [["a", "b"]]
    assert fake.deleted == ["rh-a-2", "rh-b"]


def test_sqs_fifo_queue_has_no_batching_window_and_short_polls() -> None:
    fake = FakeSqs([[message("a")], [message("b")]])
    poller, invoker, _ = sqs_poller(
        fake, lambda event: ok(), arn=FIFO_ARN, batch_size=10, batching_window_s=5
    )
    poller._poll_once()
    assert invoker.batches == [["a"]]
    assert fake.receive_calls[0]["WaitTimeSeconds"] == 0


def test_sqs_poller_survives_emulator_errors_and_stops_promptly() -> None:
    fake = FakeSqs([[message("a")]])
    fake.url_errors = 2
    poller, _, log = sqs_poller(fake, lambda event: ok())
    poller.start()
    try:
        deadline = time.monotonic() + 5
        while not fake.deleted and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        poller.stop(timeout=3)
    assert fake.deleted == ["rh-a"]
    assert log.getvalue().count("GetQueueUrl failed: InternalFailure") == 2
    assert not poller.running


def stream_poller(
    records: list[dict[str, Any]], respond: Callable[[dict[str, Any]], InvokeResult], **source: Any
) -> tuple[StreamPoller, RecordingInvoker, FakeStreams, FakeSqs, io.StringIO]:
    streams, sqs, log = FakeStreams(records), FakeSqs(), io.StringIO()
    invoker = RecordingInvoker(respond)
    spec = StreamEventSource(function_id="Fn", event_name="Changes", stream_arn=STREAM_ARN, **source)
    poller = StreamPoller(
        spec, FUNCTION_ARN, FakeClients(dynamodbstreams=streams, sqs=sqs), invoker, LogSink(log)
    )
    return poller, invoker, streams, sqs, log


def drive(poller: StreamPoller, until: Callable[[], bool], steps: int = 50) -> None:
    for _ in range(steps):
        if until():
            return
        poller._poll_once()
    raise AssertionError("the poller did not get there")


def keys(event: dict[str, Any]) -> list[str]:
    return [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]


def fail_keys(*failing: str, times: int = 1_000_000) -> Callable[[dict[str, Any]], InvokeResult]:
    """A partial batch response naming the records of *failing* keys, for their first *times* tries."""
    tries: dict[str, int] = {}

    def respond(event: dict[str, Any]) -> InvokeResult:
        failures = []
        for record in event["Records"]:
            key = record["dynamodb"]["Keys"]["pk"]["S"]
            if key in failing and tries.get(key, 0) < times:
                tries[key] = tries.get(key, 0) + 1
                failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
        return ok({"batchItemFailures": failures})

    return respond


def test_stream_partial_failure_checkpoints_before_the_failed_record() -> None:
    poller, invoker, _, _, _ = stream_poller(
        [change(1), change(2), change(3)],
        fail_keys("k2", times=1),
        batch_size=3,
        report_batch_item_failures=True,
    )
    drive(poller, lambda: len(invoker.batches) == 2)
    poller._poll_once()
    assert invoker.batches == [["k1", "k2", "k3"], ["k2", "k3"]]


def test_stream_exhausted_retries_send_the_batch_to_the_on_failure_queue_and_move_on() -> None:
    poller, invoker, _, sqs, _ = stream_poller(
        [change(1), change(2)],
        fail_keys("k1"),
        batch_size=1,
        report_batch_item_failures=True,
        maximum_retry_attempts=2,
        on_failure_arn=FAILURE_QUEUE_ARN,
    )
    drive(poller, lambda: ["k2"] in invoker.batches)
    assert invoker.batches == [["k1"], ["k1"], ["k1"], ["k2"]]
    [(url, body)] = sqs.sent
    assert url.endswith("/stream-failures")
    record = json.loads(body)
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["DDBStreamBatchInfo"]["startSequenceNumber"] == "1001"
    assert record["DDBStreamBatchInfo"]["batchSize"] == 1
    assert "functionError" not in record["responseContext"]


def test_stream_function_error_retries_the_same_batch_without_a_limit() -> None:
    answers = [error(), error(), error(), ok()]
    poller, invoker, _, sqs, _ = stream_poller(
        [change(1), change(2)], lambda event: answers.pop(0), batch_size=2
    )
    drive(poller, lambda: not answers)
    assert invoker.batches == [["k1", "k2"]] * 4
    assert sqs.sent == []


def test_stream_bisect_on_error_isolates_the_failing_record() -> None:
    def respond(event: dict[str, Any]) -> InvokeResult:
        return error() if "k2" in keys(event) else ok()

    poller, invoker, _, sqs, log = stream_poller(
        [change(1), change(2), change(3)],
        respond,
        batch_size=3,
        bisect_on_error=True,
        maximum_retry_attempts=0,
        on_failure_arn=FAILURE_QUEUE_ARN,
    )
    drive(poller, lambda: ["k3"] in invoker.batches)
    assert invoker.batches == [["k1", "k2", "k3"], ["k1", "k2"], ["k1"], ["k2"], ["k3"]]
    [(_, body)] = sqs.sent
    info = json.loads(body)["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == ("1002", "1002", 1)
    assert "bisecting into 2 + 1" in log.getvalue()


def test_stream_exhausted_without_a_destination_skips_the_batch() -> None:
    poller, invoker, _, _, log = stream_poller(
        [change(1), change(2)],
        lambda event: error() if "k1" in keys(event) else ok(),
        batch_size=1,
        maximum_retry_attempts=0,
    )
    drive(poller, lambda: ["k2"] in invoker.batches)
    assert invoker.batches == [["k1"], ["k2"]]
    assert "skipping 1 record(s) 1001..1001" in log.getvalue()


def test_stream_reacquires_a_lost_iterator_after_the_last_record_read() -> None:
    records = [change(1), change(2)]
    poller, invoker, streams, _, log = stream_poller(records, lambda event: ok(), batch_size=10)
    drive(poller, lambda: invoker.batches == [["k1", "k2"]])
    streams.lose_iterators = 1
    records.append(change(3))
    drive(poller, lambda: len(invoker.batches) == 2)
    assert invoker.batches == [["k1", "k2"], ["k3"]]
    assert streams.iterator_requests[-1] == {
        "StreamArn": STREAM_ARN,
        "ShardId": SHARD,
        "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
        "SequenceNumber": "1002",
    }
    assert "re-acquiring its iterator" in log.getvalue()


def test_stream_latest_starts_after_the_records_already_there() -> None:
    records = [change(1)]
    poller, invoker, _, _, _ = stream_poller(records, lambda event: ok(), starting_position="LATEST")
    poller._poll_once()
    records.append(change(2))
    drive(poller, lambda: bool(invoker.batches))
    assert invoker.batches == [["k2"]]


def test_stream_batching_window_waits_for_more_records() -> None:
    records = [change(1)]
    poller, invoker, _, _, _ = stream_poller(records, lambda event: ok(), batch_size=2, batching_window_s=60)
    poller._poll_once()
    assert invoker.batches == []
    records.append(change(2))
    drive(poller, lambda: bool(invoker.batches))
    assert invoker.batches == [["k1", "k2"]]


def test_stream_shard_that_has_caught_up_is_read_again_after_the_poll_interval() -> None:
    records = [change(1)]
    poller, invoker, streams, _, _ = stream_poller(records, lambda event: ok(), batch_size=10)
    poller._poll_once()  # one record of ten: the shard has caught up
    records.append(change(2))
    drive(poller, lambda: len(invoker.batches) == 2)
    assert invoker.batches == [["k1"], ["k2"]]
    first, second = streams.read_at
    assert second - first >= pollers.STREAM_POLL_INTERVAL_S


def test_stream_read_that_fills_a_batch_is_followed_by_the_next_read_at_once() -> None:
    poller, invoker, _, _, _ = stream_poller(
        [change(n) for n in range(1, 6)], lambda event: ok(), batch_size=2
    )
    drive(poller, lambda: len(invoker.batches) == 3, steps=4)  # three polls: none waits for the interval
    assert invoker.batches == [["k1", "k2"], ["k3", "k4"], ["k5"]]


def test_stream_failure_while_stopping_is_not_counted() -> None:
    def respond(event: dict[str, Any]) -> InvokeResult:
        poller.request_stop()  # the stack shuts down while the function runs
        return error()

    poller, invoker, _, sqs, _ = stream_poller(
        [change(1)], respond, maximum_retry_attempts=0, on_failure_arn=FAILURE_QUEUE_ARN
    )
    poller._poll_once()
    shard = poller.shards[SHARD]
    assert invoker.batches == [["k1"]]
    assert sqs.sent == [] and shard.attempts == 0 and len(shard.buffer) == 1


def test_build_pollers_makes_one_per_event_source() -> None:
    spec = FunctionSpec(
        logical_id="Fn",
        function_name="fn",
        handler="app.handler",
        code_dir=Path("fn"),
        layer_dirs=(),
        runtime="python3.13",
        memory_mb=128,
        timeout_s=3,
        log_group_name="/aws/lambda/fn",
        environment={},
        sqs_sources=(
            SqsEventSource("Fn", "A", QUEUE_ARN),
            SqsEventSource("Fn", "B", FIFO_ARN),
        ),
        stream_sources=(StreamEventSource("Fn", "C", STREAM_ARN),),
    )
    built = build_pollers({"Fn": spec}, FakeClients(), lambda *args: ok(), LogSink(io.StringIO()))
    assert [type(p).__name__ for p in built] == ["SqsPoller", "SqsPoller", "StreamPoller"]
    assert built[2].function_arn == spec.arn  # type: ignore[attr-defined]
