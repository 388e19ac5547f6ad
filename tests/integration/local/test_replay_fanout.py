"""The operators' replay of FanoutFailureQueue (`python -m local.replay_fanout`) against moto: the
failure record Lambda sends when the fan-out exhausts its retries is read back from the table's stream
and fanned out by the real handler, once; what cannot be replayed stays in the queue, visible."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from local import replay_fanout
from local.pollers import sequence_number, stream_failure_record
from local.replay_fanout import FanoutFailed, Outcome, lambda_invoker, replay
from local.running import queue_url
from tests.integration.conftest import Account, Api, LambdaContext, Stack, shared_clients
from tests.integration.test_event_fanout import add_endpoint, queued
from tests.integration.test_outbox_stream import stream_records


def failure_queue_url(stack: Stack) -> str:
    return queue_url(shared_clients().client("sqs"), "FanoutFailureQueue")


def shard_records(stack: Stack) -> tuple[str, list[dict[str, Any]]]:
    """The stream's (one) shard and its records so far."""
    [shard] = stack.streams.describe_stream(StreamArn=stack.stream_arn)["StreamDescription"]["Shards"]
    return shard["ShardId"], stream_records(stack)


def report_exhausted(stack: Stack, batch: list[dict[str, Any]]) -> None:
    """Send what Lambda sends when the fan-out exhausted its retries on `batch` (the same record the
    local stack's poller sends)."""
    shard_id, _ = shard_records(stack)
    failure = stream_failure_record(
        records=batch,
        shard_id=shard_id,
        stream_arn=stack.stream_arn,
        function_arn=stack.specs["EventFanoutFunction"].arn,
        request_id="req-1",
        invoke_count=11,
        function_error="Unhandled",
    )
    shared_clients().client("sqs").send_message(
        QueueUrl=failure_queue_url(stack), MessageBody=json.dumps(failure)
    )


def fail_batch(stack: Stack, action: Callable[[], Any]) -> list[dict[str, Any]]:
    """Run `action` and report the stream records its writes added as a batch whose retries ran out;
    those records."""
    _, before = shard_records(stack)
    action()
    _, records = shard_records(stack)
    batch = records[len(before) :]
    report_exhausted(stack, batch)
    return batch


def in_queue(stack: Stack) -> list[dict[str, Any]]:
    messages = (
        shared_clients()
        .client("sqs")
        .receive_message(QueueUrl=failure_queue_url(stack), MaxNumberOfMessages=10, VisibilityTimeout=0)
    )
    return messages.get("Messages", [])


def run(stack: Stack, invoke: replay_fanout.Invoke, **options: Any) -> list[replay_fanout.Replayed]:
    return replay(shared_clients().client("sqs"), stack.streams, failure_queue_url(stack), invoke, **options)


def handler_of(stack: Stack, **env: str) -> replay_fanout.Invoke:
    fanout = stack.load_function("EventFanoutFunction", **env)
    return lambda event: fanout.lambda_handler(event, LambdaContext())


def test_a_failed_batch_is_read_back_from_the_stream_and_fanned_out_once(
    stack: Stack, api: Api, account: Account
) -> None:
    add_endpoint(stack, account, "wep_crm")
    batch = fail_batch(stack, lambda: api.post_lead(account.webhook_token, {"phone": "+14155550170"}))
    invoke = handler_of(stack)

    [result] = run(stack, invoke)

    assert (result.outcome, result.found, result.expected) == (Outcome.REPLAYED, len(batch), len(batch))
    assert (result.start, result.end) == (sequence_number(batch[0]), sequence_number(batch[-1]))
    [job] = queued(stack)
    assert (job["endpointId"], job["envelope"]["event"]) == ("wep_crm", "lead.created")
    assert in_queue(stack) == []
    assert run(stack, invoke) == []  # nothing left to replay

    # The same range reported again (or replayed twice): no second job for the same (event, endpoint).
    report_exhausted(stack, batch)
    assert [r.outcome for r in run(stack, invoke)] == [Outcome.REPLAYED]
    assert queued(stack) == []


def test_a_batch_the_fanout_still_fails_stays_in_the_queue_for_the_next_run(
    stack: Stack, api: Api, account: Account
) -> None:
    add_endpoint(stack, account, "wep_crm")
    fail_batch(stack, lambda: api.post_lead(account.webhook_token, {"phone": "+14155550171"}))
    gone = "https://sqs.us-east-1.amazonaws.com/123456789012/no-such-queue"

    [result] = run(stack, handler_of(stack, DELIVERY_QUEUE_URL=gone))  # the cause is not fixed yet

    assert result.outcome is Outcome.STILL_FAILING and result.failed
    assert len(in_queue(stack)) == 1  # visible again at once, not hidden for the run's 15 minutes
    [fixed] = run(stack, handler_of(stack))
    assert fixed.outcome is Outcome.REPLAYED
    assert [job["endpointId"] for job in queued(stack)] == ["wep_crm"]


def test_a_dry_run_reads_the_ranges_and_replays_nothing(stack: Stack, api: Api, account: Account) -> None:
    add_endpoint(stack, account, "wep_crm")
    batch = fail_batch(stack, lambda: api.post_lead(account.webhook_token, {"phone": "+14155550172"}))

    def never(event: dict[str, Any]) -> Any:
        raise AssertionError("a dry run invoked the fan-out")

    [result] = run(stack, never, dry_run=True)

    assert (result.outcome, result.found) == (Outcome.DRY_RUN, len(batch))
    assert queued(stack) == [] and len(in_queue(stack)) == 1


def test_what_cannot_be_replayed_is_reported_and_kept(stack: Stack, account: Account) -> None:
    shard_id, records = shard_records(stack)  # the account's writes
    beyond = int(sequence_number(records[-1])) + 1_000_000  # a range the stream does not hold
    expired = {
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": str(beyond),
            "endSequenceNumber": str(beyond + 5),
            "batchSize": 2,
            "streamArn": stack.stream_arn,
        }
    }
    sqs = shared_clients().client("sqs")
    sqs.send_message(QueueUrl=failure_queue_url(stack), MessageBody=json.dumps(expired))
    sqs.send_message(QueueUrl=failure_queue_url(stack), MessageBody='{"not": "a stream batch"}')

    results = run(stack, handler_of(stack))

    assert sorted(r.outcome for r in results) == [Outcome.EXPIRED, Outcome.UNREADABLE]
    assert all(r.detail for r in results)
    assert len(in_queue(stack)) == 2


def test_a_batch_too_large_for_one_invocation_is_replayed_in_halves(
    stack: Stack, api: Api, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_endpoint(stack, account, "wep_crm")
    phones = [f"+1415555018{n}" for n in range(4)]
    batch = fail_batch(stack, lambda: [api.post_lead(account.webhook_token, {"phone": p}) for p in phones])
    monkeypatch.setattr(replay_fanout, "MAX_PAYLOAD_BYTES", 1)  # every payload is too large
    handler, sizes = handler_of(stack), []

    def invoke(event: dict[str, Any]) -> Any:
        sizes.append(len(event["Records"]))
        return handler(event)

    [result] = run(stack, invoke)

    assert result.outcome is Outcome.REPLAYED
    assert sorted(sizes) == [1] * len(batch)
    assert len(queued(stack)) == len(phones)


class FakeLambda:
    """boto3's Lambda client as far as `lambda_invoker` uses it: one scripted Invoke answer."""

    def __init__(self, payload: bytes, function_error: str | None = None) -> None:
        self.payload, self.function_error = payload, function_error
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        response: dict[str, Any] = {"StatusCode": 200, "Payload": _Body(self.payload)}
        if self.function_error:
            response["FunctionError"] = self.function_error
        return response


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self) -> bytes:
        return self.data


def test_the_lambda_invoker_returns_the_response_and_raises_on_a_function_error() -> None:
    ok = FakeLambda(b'{"batchItemFailures": []}')
    assert lambda_invoker(ok, "fanout-fn")({"Records": []}) == {"batchItemFailures": []}
    assert ok.calls == [{"FunctionName": "fanout-fn", "Payload": b'{"Records": []}'}]

    crashed = FakeLambda(b'{"errorType": "StorageUnavailable", "errorMessage": "try again"}', "Unhandled")
    with pytest.raises(FanoutFailed, match="Unhandled: StorageUnavailable: try again"):
        lambda_invoker(crashed, "fanout-fn")({"Records": []})
