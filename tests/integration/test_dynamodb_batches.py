"""Batch reads and writes of the delivery worker's adapters against moto: BatchGetItem by key (missing
keys, duplicates, more than 100 keys, unprocessed keys) and several attempts in one transaction."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from leadhub.outbound.adapters.dynamodb_delivery_batch_reader import DynamoDeliveryBatchReader
from leadhub.outbound.adapters.dynamodb_delivery_log import DynamoDeliveryLog
from leadhub.outbound.adapters.dynamodb_endpoints import DynamoEndpointRepository, endpoint_to_values
from leadhub.outbound.models import Attempt, Delivery, EndpointSecret, Verification, WebhookEndpoint
from leadhub.platform.adapters.dynamodb_batch_get import UNPROCESSED_TRIES, batch_get
from leadhub.platform.adapters.dynamodb_items import to_item
from leadhub.platform.errors import StorageUnavailable
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


def test_a_batch_reads_its_deliveries_and_endpoints_in_one_request(stack: Stack) -> None:
    clients = shared_clients().client
    log = DynamoDeliveryLog(stack.table_name, clients=clients)
    for n in range(3):
        log.save(delivery(n))
        stack.ddb.put_item(TableName=stack.table_name, Item=to_item(endpoint_to_values(endpoint(n))))
    reader = DynamoDeliveryBatchReader(stack.table_name, clients=clients)
    requests: list[str] = []
    clients("dynamodb").meta.events.register("before-send.dynamodb", lambda **kw: requests.append("sent"))
    deliveries, endpoints = reader.read(
        [(OWNER, "msg_0"), (OWNER, "msg_2"), (OWNER, "msg_9"), (OWNER, "msg_0")],
        [(OWNER, "wep_1"), (OWNER, "wep_1"), (OWNER, "wep_7")],
    )
    assert len(requests) == 1
    assert deliveries == {(OWNER, "msg_0"): delivery(0), (OWNER, "msg_2"): delivery(2)}
    assert endpoints == {(OWNER, "wep_1"): endpoint(1)}  # missing keys are left out
    assert endpoints[(OWNER, "wep_1")] == DynamoEndpointRepository(stack.table_name, clients).get(
        OWNER, "wep_1"
    )


def test_a_batch_of_more_than_100_keys_is_read_in_several_requests(stack: Stack) -> None:
    log = DynamoDeliveryLog(stack.table_name, clients=shared_clients().client)
    for n in range(120):
        log.save(delivery(n))
    reader = DynamoDeliveryBatchReader(stack.table_name, clients=shared_clients().client)
    keys = [(OWNER, f"msg_{n}") for n in range(130)] + [(OWNER, "msg_1"), ("acc_other", "msg_2")]
    deliveries, endpoints = reader.read(keys, [(OWNER, "wep_1")])  # 132 distinct keys: two requests
    assert deliveries == {(OWNER, f"msg_{n}"): delivery(n) for n in range(120)} and endpoints == {}
    assert reader.read([], []) == ({}, {})


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
