"""The fan-out handler against moto: stream records of real writes become delivery jobs on the queue,
exactly once per (event, endpoint), also when the stream hands the same records over again."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from leadhub.accounts.audit import AuditEntry
from leadhub.outbound.adapters.dynamodb_endpoints import DynamoEndpointRepository
from leadhub.outbound.models import EndpointSecret, Verification, WebhookEndpoint
from leadhub.platform.timestamps import to_iso, utc_now
from tests.integration.conftest import Account, Api, DynamoCalls, LambdaContext, Stack, shared_clients
from tests.integration.test_outbox_stream import stream_records


def add_endpoint(stack: Stack, account: Account, endpoint_id: str, **fields: Any) -> WebhookEndpoint:
    now = to_iso(utc_now())
    endpoint = WebhookEndpoint(
        account_id=account.account_id,
        endpoint_id=endpoint_id,
        name=endpoint_id,
        url="https://crm.example.com/hooks",
        secrets=(EndpointSecret(b"ciphertext", now),),
        created_at=now,
        updated_at=now,
        verification=Verification.VERIFIED,
        **fields,
    )
    audit = AuditEntry(account.account_id, "webhook_endpoint.created", "api", now)
    assert DynamoEndpointRepository(stack.table_name).insert(endpoint, None, audit)
    return endpoint


def stream_event(records: list[dict[str, Any]], stream_arn: str) -> dict[str, Any]:
    """Lambda's DynamoDB event for records as DynamoDB Streams returns them."""
    return {
        "Records": [
            {
                "eventID": r["eventID"],
                "eventName": r["eventName"],
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {k: v for k, v in r["dynamodb"].items() if k != "ApproximateCreationDateTime"},
                "eventSourceARN": stream_arn,
            }
            for r in records
        ]
    }


def queued(stack: Stack) -> list[dict[str, Any]]:
    client = shared_clients().client("sqs")
    messages: list[dict[str, Any]] = []
    while True:
        batch = client.receive_message(QueueUrl=stack.delivery_queue_url, MaxNumberOfMessages=10)
        if not batch.get("Messages"):
            return messages
        messages += [json.loads(m["Body"]) for m in batch["Messages"]]


def test_a_new_lead_becomes_one_job_per_subscribed_endpoint_once(
    stack: Stack, api: Api, account: Account
) -> None:
    add_endpoint(stack, account, "wep_all")
    add_endpoint(stack, account, "wep_updates", events=("lead.updated",))
    add_endpoint(stack, account, "wep_paused", enabled=False)
    fanout = stack.load_function("EventFanoutFunction")
    already = len(stream_records(stack))
    lead_id = api.post_lead(account.webhook_token, {"phone": "+14155550150"}).body["leadId"]
    event = stream_event(stream_records(stack)[already:], stack.stream_arn)

    assert fanout.lambda_handler(event, LambdaContext()) == {"batchItemFailures": []}
    assert fanout.lambda_handler(event, LambdaContext()) == {"batchItemFailures": []}  # redelivered

    [job] = queued(stack)
    assert job["endpointId"] == "wep_all" and job["accountId"] == account.account_id
    assert job["envelope"]["event"] == "lead.created" and job["envelope"]["data"]["leadId"] == lead_id
    deliveries = {d["endpointId"]["S"]: d for d in stack.entities("delivery")}
    assert sorted(deliveries) == ["wep_all", "wep_paused"]
    delivery, paused = deliveries["wep_all"], deliveries["wep_paused"]
    assert (delivery["deliveryId"]["S"], delivery["status"]["S"], delivery["enqueued"]["BOOL"]) == (
        job["deliveryId"],
        "pending",
        True,
    )
    # The paused endpoint gets no job, but a record that `recover` can send once it is enabled.
    assert (paused["status"]["S"], paused["enqueued"]["BOOL"]) == ("skipped", False)
    # Kept for recover (14 days back), then expired, as an endpoint left disabled collects one per event.
    expires = datetime.fromtimestamp(int(paused["expiresAt"]["N"]), UTC)
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)
    assert "expiresAt" not in delivery


def test_a_poison_record_is_reported_alone(stack: Stack, api: Api, account: Account) -> None:
    add_endpoint(stack, account, "wep_all")
    fanout = stack.load_function("EventFanoutFunction")
    already = len(stream_records(stack))
    api.post_lead(account.webhook_token, {"phone": "+14155550151"})
    records = stream_records(stack)[already:]
    lead_record = next(r for r in records if r["dynamodb"]["NewImage"]["entity"]["S"] == "lead")
    broken = copy.deepcopy(lead_record)
    broken["eventID"] = "poison"
    broken["dynamodb"]["NewImage"]["entity"] = {"S": "lead"}
    del broken["dynamodb"]["NewImage"]["capturedAt"]  # a lead image that cannot be read
    result = fanout.lambda_handler(stream_event([broken, *records], stack.stream_arn), LambdaContext())
    assert result["batchItemFailures"] == [{"itemIdentifier": broken["dynamodb"]["SequenceNumber"]}]
    assert [job["envelope"]["event"] for job in queued(stack)] == ["lead.created"]


def new_records(stack: Stack, action: Callable[[], Any]) -> dict[str, Any]:
    """The stream event of the records that `action`'s writes add to the stream."""
    already = len(stream_records(stack))
    action()
    return stream_event(stream_records(stack)[already:], stack.stream_arn)


def test_a_batch_lists_an_account_endpoints_once_and_the_next_batch_lists_them_again(
    stack: Stack, api: Api, account: Account, dynamo_calls: DynamoCalls
) -> None:
    add_endpoint(stack, account, "wep_first")
    fanout = stack.load_function("EventFanoutFunction")
    phones = ("+14155550160", "+14155550161", "+14155550162")
    three_leads = new_records(
        stack, lambda: [api.post_lead(account.webhook_token, {"phone": n}) for n in phones]
    )

    result, operations = dynamo_calls.during(lambda: fanout.lambda_handler(three_leads, LambdaContext()))
    assert result == {"batchItemFailures": []}
    assert operations.count("Query") == 1
    assert sorted(job["endpointId"] for job in queued(stack)) == ["wep_first"] * 3

    add_endpoint(stack, account, "wep_second")  # the same warm environment must see it in its next batch
    one_lead = new_records(stack, lambda: api.post_lead(account.webhook_token, {"phone": "+14155550163"}))

    result, operations = dynamo_calls.during(lambda: fanout.lambda_handler(one_lead, LambdaContext()))
    assert result == {"batchItemFailures": []}
    assert operations.count("Query") == 1
    assert sorted(job["endpointId"] for job in queued(stack)) == ["wep_first", "wep_second"]
