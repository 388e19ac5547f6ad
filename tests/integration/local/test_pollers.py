"""The local pollers against a real emulator and real function workers.

One emulator, one provisioned fixture stack (tests/fixtures/local_stack) and one set of pollers serve
the whole module. The SQS scenarios all start together (each on its own queue) so that their
visibility timeouts run concurrently; the stream scenarios run one after another, because both
stream consumers read the same table's stream in order.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from local.cfn import Template
from local.emulator import ClientFactory, Emulator
from local.pollers import Poller, build_pollers, stop_pollers
from local.provision import ResourceRegistry, provision
from local.sam import FunctionSpec, build_function_specs
from local.workers import FunctionPool, LogSink, start_pools, worker_environment

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "local_stack" / "template.yaml"
T = TypeVar("T")
SEEN_FIELDS = (
    "sk",
    "body",
    "receiveCount",
    "outcome",
    "key",
    "sequence",
    "eventName",
    "failed",
    "batch",
    "batchSize",
)


def wait_until(predicate: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    """Poll *predicate* every 50 ms until it returns something truthy, which is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


@dataclass
class Stack:
    clients: ClientFactory
    registry: ResourceRegistry
    specs: dict[str, FunctionSpec]
    pools: dict[str, FunctionPool]
    pollers: list[Poller]
    log: io.StringIO

    def url(self, logical_id: str) -> str:
        return str(self.registry.refs[logical_id])

    def arn(self, logical_id: str) -> str:
        return str(self.registry.attrs[logical_id]["Arn"])

    @property
    def sqs(self) -> Any:
        return self.clients.client("sqs")

    @property
    def ddb(self) -> Any:
        return self.clients.client("dynamodb")

    def seen(self, partition: str, *, records: bool = False) -> list[dict[str, Any]]:
        """What the consumers recorded in one partition of the seen table, oldest first, as plain
        values; the event records themselves only when asked for."""
        items: list[dict[str, Any]] = []
        fields = SEEN_FIELDS + (("record",) if records else ())
        kwargs: dict[str, Any] = {
            "TableName": self.url("SeenTable"),
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition}},
            "ProjectionExpression": ", ".join(f"#{name}" for name in fields),
            "ExpressionAttributeNames": {"#pk": "pk"} | {f"#{name}": name for name in fields},
        }
        while True:
            page = self.ddb.query(**kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [{name: _plain(value) for name, value in item.items()} for item in items]

    def queue_depth(self, logical_id: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.url(logical_id),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def drain(self, logical_id: str) -> list[dict[str, Any]]:
        """Receive and delete everything in a queue nobody consumes (a DLQ or a destination)."""
        messages: list[dict[str, Any]] = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=self.url(logical_id), MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not got:
                return messages
            for message in got:
                self.sqs.delete_message(QueueUrl=self.url(logical_id), ReceiptHandle=message["ReceiptHandle"])
            messages.extend(got)


def _plain(value: dict[str, Any]) -> Any:
    [(kind, inner)] = value.items()
    if kind == "N":
        return int(inner)
    if kind == "M":
        return {name: _plain(item) for name, item in inner.items()}
    return inner


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    log = io.StringIO()
    sink = LogSink(log)
    emulator = Emulator(sink=sink)
    pools: dict[str, FunctionPool] = {}
    pollers: list[Poller] = []
    try:
        url = emulator.start()
        clients = ClientFactory(url)
        template = Template.from_file(FIXTURE)
        registry = provision(template, clients)
        specs = build_function_specs(template, registry.evaluator, {})
        envs = {
            lid: worker_environment(spec, emulator_url=url, api_url="http://127.0.0.1:1")
            for lid, spec in specs.items()
        }
        pools = start_pools(specs, envs, sink, max_workers=2)
        pollers = build_pollers(specs, clients, lambda fid, event, rid: pools[fid].invoke(event, rid), sink)
        for poller in pollers:
            poller.start()
        yield Stack(clients, registry, specs, pools, pollers, log)
    finally:
        stop_pollers(pollers)
        for pool in pools.values():
            pool.close()
        emulator.stop()


# -- SQS ----------------------------------------------------------------------------------------

SQS_SCENARIOS = {
    "WorkQueue": ["ok-a1", "ok-a2", "ok-a3", "fail-a4", "failonce-a5"],
    "PoisonQueue": ["boom-b1"],
    "BadResponseQueue": ["badid-c1"],
    "PlainQueue": ["ok-p1", "fail-p2", "ok-p3", "boom-p4"],
}


@pytest.fixture(scope="module")
def sqs_sent(stack: Stack) -> None:
    """Send every SQS scenario at once; each test then waits for its own queue's outcome. Each queue
    gets two requests: PlainQueue's batching window has to gather its messages from both."""
    for queue, bodies in SQS_SCENARIOS.items():
        stack.sqs.send_message_batch(
            QueueUrl=stack.url(queue),
            Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[:2])],
        )
        if bodies[2:]:
            stack.sqs.send_message_batch(
                QueueUrl=stack.url(queue),
                Entries=[
                    {
                        "Id": str(i),
                        "MessageBody": body,
                        "MessageAttributes": {
                            "kind": {"DataType": "String", "StringValue": "test"},
                            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
                        },
                    }
                    for i, body in enumerate(bodies[2:])
                ],
            )


def deliveries(stack: Stack, queue: str, *, records: bool = False) -> dict[str, list[dict[str, Any]]]:
    by_body: dict[str, list[dict[str, Any]]] = {}
    for item in stack.seen(f"sqs#{stack.registry.attrs[queue]['QueueName']}", records=records):
        by_body.setdefault(item["body"], []).append(item)
    return by_body


def test_sqs_successes_are_deleted_and_only_failed_items_come_back_until_the_dlq(
    stack: Stack, sqs_sent: None
) -> None:
    wait_until(lambda: stack.queue_depth("WorkDLQ") == 1, 30, "the failing message in the DLQ")
    wait_until(lambda: stack.queue_depth("WorkQueue") == 0, 20, "an empty work queue")

    seen = deliveries(stack, "WorkQueue")
    for body in ("ok-a1", "ok-a2", "ok-a3"):
        assert [d["outcome"] for d in seen[body]] == ["ok"], body  # deleted after one delivery
    assert [(d["outcome"], d["receiveCount"]) for d in seen["fail-a4"]] == [("failed", 1), ("failed", 2)]
    assert [d["outcome"] for d in seen["failonce-a5"]] == ["failed", "ok"]
    [dead] = stack.drain("WorkDLQ")
    assert dead["Body"] == "fail-a4"


def test_sqs_record_has_lambdas_shape(stack: Stack, sqs_sent: None) -> None:
    wait_until(lambda: "ok-a3" in deliveries(stack, "WorkQueue"), 20, "ok-a3")
    record = json.loads(deliveries(stack, "WorkQueue", records=True)["ok-a3"][0]["record"])
    assert list(record) == [
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "md5OfMessageAttributes",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    ]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == stack.arn("WorkQueue")
    assert record["awsRegion"] == "us-east-1"
    assert set(record["attributes"]) == {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    }
    assert record["messageAttributes"] == {
        "kind": {"stringValue": "test", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "blob": {"binaryValue": "AAE=", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
    }


def test_sqs_function_error_deletes_nothing_and_the_poison_message_ends_in_the_dlq(
    stack: Stack, sqs_sent: None
) -> None:
    wait_until(lambda: stack.queue_depth("PoisonDLQ") == 1, 30, "the poison message in the DLQ")
    assert [d["receiveCount"] for d in deliveries(stack, "PoisonQueue")["boom-b1"]] == [1, 2]
    assert stack.queue_depth("PoisonQueue") == 0


def test_sqs_invalid_partial_response_fails_the_whole_batch(stack: Stack, sqs_sent: None) -> None:
    wait_until(lambda: stack.queue_depth("BadResponseDLQ") == 1, 30, "the message in the DLQ")
    assert [d["receiveCount"] for d in deliveries(stack, "BadResponseQueue")["badid-c1"]] == [1, 2]
    assert "invalid partial batch response" in stack.log.getvalue()


def test_sqs_without_partial_responses_ignores_them_and_batches_within_the_window(
    stack: Stack, sqs_sent: None
) -> None:
    # ok-p3 and boom-p4 were sent after ok-p1 and fail-p2, but within the batching window: one batch,
    # which raises, so all four come back and (maxReceiveCount 2) end in the DLQ; fail-p2's item
    # failure is ignored, since the mapping does not report batch item failures.
    wait_until(lambda: stack.queue_depth("PlainDLQ") == 4, 30, "the whole batch in the DLQ")
    seen = deliveries(stack, "PlainQueue")
    assert {body: [d["receiveCount"] for d in items] for body, items in seen.items()} == {
        "ok-p1": [1, 2],
        "fail-p2": [1, 2],
        "ok-p3": [1, 2],
        "boom-p4": [1, 2],
    }
    assert sorted(m["Body"] for m in stack.drain("PlainDLQ")) == ["boom-p4", "fail-p2", "ok-p1", "ok-p3"]


def test_sqs_poller_logs_carry_no_message_bodies(stack: Stack, sqs_sent: None) -> None:
    wait_until(lambda: stack.queue_depth("WorkQueue") == 0, 30, "an empty work queue")
    poller_lines = [line for line in stack.log.getvalue().splitlines() if line.startswith("[poller]")]
    assert poller_lines
    for bodies in SQS_SCENARIOS.values():
        for body in bodies:
            assert not any(body in line for line in poller_lines)


def fifo_deliveries(stack: Stack, *, records: bool = False) -> list[dict[str, Any]]:
    return stack.seen(f"sqs#{stack.registry.attrs['OrderedQueue']['QueueName']}", records=records)


def test_fifo_group_waits_while_its_failed_message_is_in_flight(stack: Stack) -> None:
    url = stack.url("OrderedQueue")

    def send(group: str, body: str) -> None:
        # An explicit deduplication id: the emulator gives only such messages a SequenceNumber.
        stack.sqs.send_message(
            QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body
        )

    send("g1", "g1-m1")
    send("g2", "g2-n1")
    send("g1", "g1-failonce-m2")
    wait_until(
        lambda: any(d["outcome"] == "failed" for d in fifo_deliveries(stack)), 20, "g1-failonce-m2 failing"
    )
    # g1-m2 is in flight (failed, waiting out its visibility timeout): g1-m3 must wait, g2 goes on.
    send("g1", "g1-m3")
    send("g2", "g2-n2")

    def ok_order() -> list[str]:
        return [d["body"] for d in fifo_deliveries(stack) if d["outcome"] == "ok"]

    wait_until(lambda: len(ok_order()) == 5, 30, "every FIFO message processed")
    wait_until(lambda: stack.queue_depth("OrderedQueue") == 0, 20, "an empty FIFO queue")
    order = ok_order()
    # g1-m3 was only ever delivered after g1-m2 succeeded; group g2 was not held up meanwhile.
    assert [body for body in order if body.startswith("g1")] == ["g1-m1", "g1-failonce-m2", "g1-m3"]
    assert [body for body in order if body.startswith("g2")] == ["g2-n1", "g2-n2"]
    fifo = fifo_deliveries(stack, records=True)
    assert [d["outcome"] for d in fifo if d["body"] == "g1-failonce-m2"] == ["failed", "ok"]
    assert [d["body"] for d in fifo].count("g1-m3") == 1
    attributes = json.loads(fifo[0]["record"])["attributes"]
    assert list(attributes) == [
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SequenceNumber",
        "MessageGroupId",
        "SenderId",
        "MessageDeduplicationId",
        "ApproximateFirstReceiveTimestamp",
    ]


def test_the_emulator_holds_back_a_fifo_group_while_a_message_of_it_is_in_flight(stack: Stack) -> None:
    # What the FIFO poller relies on (and Lambda guarantees): checked on a queue no poller reads.
    sqs = stack.sqs
    url = sqs.create_queue(
        QueueName="group-check.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "30"},
    )["QueueUrl"]
    for body in ("a1", "a2"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="a")
    sqs.send_message(QueueUrl=url, MessageBody="b1", MessageGroupId="b")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    assert [m["Body"] for m in first] == ["a1"]
    second = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    assert [m["Body"] for m in second] == ["b1"]  # a2 waits for a1
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    third = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    assert [m["Body"] for m in third] == ["a2"]


# moto 5.2.5 alone fails this (local/emulator_main.py patches it): a later message came back first.
def test_the_emulator_returns_expired_in_flight_fifo_messages_in_order(stack: Stack) -> None:
    sqs = stack.sqs
    url = sqs.create_queue(
        QueueName="return-order.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "1"},
    )["QueueUrl"]
    for body in ("a1", "a2"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="a")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == [
        "a1",
        "a2",
    ]

    def visible() -> bool:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return attributes["Attributes"]["ApproximateNumberOfMessages"] == "2"

    wait_until(visible, 10, "both messages visible again")
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    assert [m["Body"] for m in again][:1] == ["a1"]


# -- DynamoDB streams ---------------------------------------------------------------------------


def delivered(stack: Stack, consumer: str, key: str, *, records: bool = False) -> list[dict[str, Any]]:
    return [d for d in stack.seen(f"ddb#{consumer}", records=records) if d["key"] == key]


def processed(stack: Stack, consumer: str, *keys: str) -> bool:
    """Whether each key's latest delivery to *consumer* succeeded."""
    return all((found := delivered(stack, consumer, key)) and not found[-1]["failed"] for key in keys)


def put(stack: Stack, key: str, **attributes: Any) -> None:
    item = {"pk": {"S": key}} | {
        name: {"N": str(value)} if isinstance(value, int) else {"S": value}
        for name, value in attributes.items()
    }
    stack.ddb.put_item(TableName=stack.url("DataTable"), Item=item)


def failure_records(stack: Stack) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in stack.drain("StreamFailureQueue")]


def test_stream_records_reach_the_consumer_in_lambdas_shape(stack: Stack) -> None:
    put(stack, "k1", mode="plain", v=1)
    put(stack, "k1", mode="plain", v=2)
    stack.ddb.delete_item(TableName=stack.url("DataTable"), Key={"pk": {"S": "k1"}})
    wait_until(lambda: len(delivered(stack, "partial", "k1")) == 3, 20, "three k1 records")
    records = [json.loads(d["record"]) for d in delivered(stack, "partial", "k1", records=True)]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    insert, modify, remove = (r["dynamodb"] for r in records)
    assert insert["NewImage"] == {"pk": {"S": "k1"}, "mode": {"S": "plain"}, "v": {"N": "1"}}
    assert "OldImage" not in insert
    assert (modify["OldImage"]["v"], modify["NewImage"]["v"]) == ({"N": "1"}, {"N": "2"})
    assert remove["OldImage"]["v"] == {"N": "2"} and "NewImage" not in remove
    assert all(d["Keys"] == {"pk": {"S": "k1"}} for d in (insert, modify, remove))
    first = records[0]
    assert list(first) == [
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "eventSourceARN",
    ]
    assert (first["eventVersion"], first["eventSource"], first["awsRegion"]) == (
        "1.1",
        "aws:dynamodb",
        "us-east-1",
    )
    assert first["eventSourceARN"] == stack.registry.attrs["DataTable"]["StreamArn"]
    assert list(insert) == [
        "ApproximateCreationDateTime",
        "Keys",
        "NewImage",
        "SequenceNumber",
        "SizeBytes",
        "StreamViewType",
    ]
    assert isinstance(insert["ApproximateCreationDateTime"], int)
    assert insert["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert numbers == sorted(numbers)
    wait_until(lambda: len(delivered(stack, "bisect", "k1")) == 3, 20, "the second consumer to get k1")


def test_stream_partial_failure_retries_from_the_failed_record(stack: Stack) -> None:
    put(stack, "p1", mode="plain")
    put(stack, "p2", mode="failonce")
    put(stack, "p3", mode="plain")
    wait_until(lambda: processed(stack, "partial", "p1", "p2", "p3"), 20, "p1..p3 processed")
    p1, p2, p3 = (delivered(stack, "partial", key) for key in ("p1", "p2", "p3"))
    assert [d["failed"] for d in p1] == [False]  # checkpointed before the failed record: not redelivered
    assert [d["failed"] for d in p2] == [True, False]
    # p3 came after the failed record in its batch, so the retry (which starts at p2) has it again.
    failed_batch = p2[0]["batch"]
    if p3[0]["batch"] == failed_batch:
        assert len(p3) == 2 and p3[1]["batch"] == p2[1]["batch"]
    else:
        assert len(p3) == 1


def test_stream_exhausted_retries_go_to_the_on_failure_destination(stack: Stack) -> None:
    put(stack, "f1", mode="fail")
    wait_until(lambda: stack.queue_depth("StreamFailureQueue") == 1, 20, "an on-failure record")
    [record] = failure_records(stack)
    attempts = delivered(stack, "partial", "f1")
    assert len(attempts) == 3  # MaximumRetryAttempts 2
    sequence = attempts[0]["sequence"]
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["functionArn"] == stack.specs["StreamConsumerFunction"].arn
    assert record["requestContext"]["approximateInvokeCount"] == 3
    info = record["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        sequence,
        sequence,
        1,
    )
    assert info["streamArn"] == stack.registry.attrs["DataTable"]["StreamArn"]
    assert info["shardId"].startswith("shardId-")
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")
    # The stream moves on past the skipped record.
    put(stack, "after-f1", mode="plain")
    wait_until(lambda: processed(stack, "partial", "after-f1"), 20, "the next record")
    assert len(delivered(stack, "partial", "f1")) == 3


def test_stream_bisect_on_error_isolates_the_failing_record(stack: Stack) -> None:
    put(stack, "b1", mode="plain")
    put(stack, "b2", mode="boom")
    put(stack, "b3", mode="plain")
    wait_until(lambda: processed(stack, "bisect", "b1", "b3"), 30, "b1 and b3 processed")
    wait_until(lambda: stack.queue_depth("StreamFailureQueue") == 1, 20, "an on-failure record")
    [record] = failure_records(stack)
    assert record["requestContext"]["functionArn"] == stack.specs["BisectConsumerFunction"].arn
    assert record["responseContext"]["functionError"] == "Unhandled"
    b2 = delivered(stack, "bisect", "b2")
    info = record["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        b2[0]["sequence"],
        b2[0]["sequence"],
        1,
    )
    assert b2[-1]["batchSize"] == 1  # the last attempt had b2 alone
    # The other consumer of the same stream has its own checkpoint, unaffected by this one.
    assert processed(stack, "partial", "b1", "b2", "b3")


def test_pollers_stop_promptly(stack: Stack) -> None:
    started = time.monotonic()
    stop_pollers(stack.pollers, timeout=5)
    assert time.monotonic() - started < 4.5
    assert not any(getattr(poller, "running", False) for poller in stack.pollers)
