"""Batch reads and writes of the delivery worker's adapters against moto: BatchGetItem by key (missing
keys, duplicates, more than 100 keys, unprocessed keys) and several attempts in one transaction."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from leadhub.adapters.dynamodb_batch import UNPROCESSED_TRIES, batch_get
from leadhub.adapters.dynamodb_deliveries import DynamoDeliveryLog
from leadhub.adapters.dynamodb_endpoints import DynamoEndpointRepository, endpoint_to_values
from leadhub.adapters.dynamodb_items import to_item
from leadhub.errors import StorageUnavailable
from leadhub.models.delivery import Attempt, Delivery
from leadhub.models.webhook_endpoint import EndpointSecret, Verification, WebhookEndpoint
from tests.integration.conftest import Stack, shared_clients

OWNER = "acc_owner"
STAMP = "2026-11-23T09:00:00.000Z"


def delivery(n: int) -> Delivery:
    envelope = {"id": f"evt_{n}", "event": "lead.created", "timestamp": STAMP, "accountId": OWNER, "data": {}}
    return Delivery(OWNER, f"msg_{n}", "wep_1", f"evt_{n}", "lead.created", OWNER, STAMP, STAMP, envelope)


def endpoint(n: int) -> WebhookEndpoint:
    return WebhookEndpoint(
        account_id=OWNER,
        endpoint_id=f"wep_{n}",
        name="CRM",
        url="https://crm.example.com/hooks",
        secrets=(EndpointSecret(b"sealed", STAMP),),
        created_at=STAMP,
        updated_at=STAMP,
        verification=Verification.VERIFIED,
        verified_at=STAMP,
    )


def test_deliveries_are_read_by_key_in_batches(stack: Stack) -> None:
    log = DynamoDeliveryLog(stack.table_name, clients=shared_clients().client)
    for n in range(120):
        log.save(delivery(n))
    keys = [(OWNER, f"msg_{n}") for n in range(130)] + [(OWNER, "msg_1"), ("acc_other", "msg_2")]
    found = log.get_many(keys)  # 131 distinct keys: two requests
    assert found == {(OWNER, f"msg_{n}"): delivery(n) for n in range(120)}
    assert log.get_many([]) == {}


def test_endpoints_are_read_by_key_in_one_request(stack: Stack) -> None:
    repository = DynamoEndpointRepository(stack.table_name, clients=shared_clients().client)
    for n in range(3):
        stack.ddb.put_item(TableName=stack.table_name, Item=to_item(endpoint_to_values(endpoint(n))))
    found = repository.get_many([(OWNER, "wep_0"), (OWNER, "wep_2"), (OWNER, "wep_9"), (OWNER, "wep_0")])
    assert found == {(OWNER, "wep_0"): endpoint(0), (OWNER, "wep_2"): endpoint(2)}
    assert found[(OWNER, "wep_0")] == repository.get(OWNER, "wep_0")


class Throttled:
    """A DynamoDB client that leaves the last `unprocessed` keys of each of its first `throttled`
    answers unprocessed, and serves the rest from `items` (keyed by pk)."""

    def __init__(self, items: dict[str, dict[str, Any]], throttled: int, unprocessed: int = 1) -> None:
        self.items, self.throttled, self.unprocessed = items, throttled, unprocessed
        self.requests: list[list[str]] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        ((table, request),) = RequestItems.items()
        assert request["ConsistentRead"] is True and len(request["Keys"]) <= 100
        keys = [key["pk"]["S"] for key in request["Keys"]]
        self.requests.append(keys)
        left = self.unprocessed if len(self.requests) <= self.throttled else 0
        served, unprocessed = keys[: len(keys) - left], request["Keys"][len(keys) - left :]
        answer: dict[str, Any] = {"Responses": {table: [self.items[k] for k in served if k in self.items]}}
        if unprocessed:
            answer["UnprocessedKeys"] = {table: {"Keys": unprocessed, "ConsistentRead": True}}
        return answer


def keys_and_items(count: int) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    keys = [{"pk": {"S": f"K{n}"}, "sk": {"S": "S"}} for n in range(count)]
    return keys, {key["pk"]["S"]: {**key, "n": {"N": str(n)}} for n, key in enumerate(keys)}


def test_unprocessed_keys_are_asked_for_again_after_a_backoff() -> None:
    keys, items = keys_and_items(5)
    db, pauses = Throttled(items, throttled=2), []
    found = batch_get(db, "t", keys, "read", sleep=pauses.append)
    assert sorted(item["pk"]["S"] for item in found) == sorted(items)
    assert db.requests == [["K0", "K1", "K2", "K3", "K4"], ["K4"], ["K4"]]
    assert len(pauses) == 2 and 0 < pauses[0] < pauses[1] <= 0.05


def test_keys_left_unprocessed_too_often_make_the_read_fail() -> None:
    keys, items = keys_and_items(3)
    db = Throttled(items, throttled=UNPROCESSED_TRIES)
    with pytest.raises(StorageUnavailable):
        batch_get(db, "t", keys, "read", sleep=lambda _: None)
    assert len(db.requests) == UNPROCESSED_TRIES


def test_more_than_100_keys_go_in_several_requests() -> None:
    keys, items = keys_and_items(250)
    db = Throttled(items, throttled=0)
    assert len(batch_get(db, "t", keys, "read")) == 250
    assert [len(request) for request in db.requests] == [100, 100, 50]


def test_several_attempts_are_recorded_in_one_transaction(stack: Stack) -> None:
    log = DynamoDeliveryLog(stack.table_name, clients=shared_clients().client)
    records = []
    for n in range(3):
        log.save(delivery(n))
        attempt = Attempt(f"msg_{n}", 1, "2026-11-23T09:00:01.000Z", 12.5, 200, None, "ok", None)
        records.append((replace(delivery(n), attempts=1), attempt))
    updated = log.record_attempts(records)
    assert [d.delivery_id for d in updated] == ["msg_0", "msg_1", "msg_2"]
    for n in range(3):
        assert log.get(OWNER, f"msg_{n}") == updated[n] and updated[n].attempts == 1
        assert [a.status_code for a in log.attempts(f"msg_{n}")] == [200]
    with pytest.raises(ValueError, match="at most"):
        log.record_attempts(records * 17)
