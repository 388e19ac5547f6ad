"""`recover` with in-memory ports: which deliveries come back, on which endpoints, and that a queue
failure leaves them where the next recovery finds them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadhub.accounts.models import Principal
from leadhub.outbound.delivery_log import recover_deliveries
from leadhub.outbound.models import (
    Delivery,
    DeliveryJob,
    DeliveryStatus,
    EndpointSecret,
    Verification,
    WebhookEndpoint,
)
from leadhub.platform.errors import Conflict, StorageUnavailable
from leadhub.platform.timestamps import to_iso
from tests.fakes import InMemoryEndpoints

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ACCOUNT = "acc_r"
CALLER = Principal(ACCOUNT, "key_1", frozenset({"webhooks:manage"}))


class Records:
    def __init__(self, deliveries: Sequence[Delivery]) -> None:
        self.deliveries = {d.delivery_id: d for d in deliveries}

    def save(self, delivery: Delivery) -> None:
        self.deliveries[delivery.delivery_id] = delivery

    def recoverable_since(
        self, endpoint_id: str, since: datetime, statuses: frozenset[DeliveryStatus]
    ) -> list[Delivery]:
        return [
            d
            for d in self.deliveries.values()
            if d.endpoint_id == endpoint_id and d.created_at >= to_iso(since) and d.status in statuses
        ]


class Queue:
    def __init__(self, refuse: int = 0) -> None:
        self.refuse = refuse
        self.jobs: list[DeliveryJob] = []

    def send(self, jobs: Sequence[DeliveryJob]) -> list[str]:
        refused = [job.delivery_id for job in jobs[: self.refuse]]
        self.jobs += jobs[self.refuse :]
        return refused


def delivery(n: int, status: DeliveryStatus, hours_ago: float = 1) -> Delivery:
    at = to_iso(NOW - timedelta(hours=hours_ago))
    return Delivery(
        ACCOUNT, f"msg_{n}", "wep_1", f"evt_{n}", "lead.created", ACCOUNT, at, at, {"id": f"evt_{n}"},
        status=status, last_error="HTTP 503" if status is DeliveryStatus.FAILED else "endpoint disabled",
    )  # fmt: skip


def endpoint_store(**endpoint_fields: Any) -> InMemoryEndpoints:
    endpoints = InMemoryEndpoints()
    endpoint = WebhookEndpoint(
        account_id=ACCOUNT,
        endpoint_id="wep_1",
        name="CRM",
        url="https://crm.example.com/hooks",
        secrets=(EndpointSecret(b"x", to_iso(NOW)),),
        created_at=to_iso(NOW),
        updated_at=to_iso(NOW),
        verification=Verification.VERIFIED,
    )
    endpoints.endpoints[(ACCOUNT, "wep_1")] = replace(endpoint, **endpoint_fields)
    return endpoints


def recover(
    records: Records, queue: Queue, endpoints: InMemoryEndpoints | None = None, **options: Any
) -> int:
    since = NOW - timedelta(days=2)
    return recover_deliveries(
        CALLER,
        "wep_1",
        since,
        NOW,
        endpoints=endpoints or endpoint_store(),
        log=records,
        queue=queue,
        **options,
    )


def test_failed_deliveries_come_back_and_skipped_ones_only_when_asked() -> None:
    old_failure = delivery(9, DeliveryStatus.FAILED, hours_ago=24 * 3)  # before `since`
    records = Records([delivery(1, DeliveryStatus.FAILED), delivery(2, DeliveryStatus.SKIPPED), old_failure])
    queue = Queue()
    assert recover(records, queue) == 1
    assert recover(records, queue, include_skipped=True) == 1  # the failed one is pending now
    assert [job.delivery_id for job in queue.jobs] == ["msg_1", "msg_2"]
    for recovered in (records.deliveries["msg_1"], records.deliveries["msg_2"]):
        assert (recovered.status, recovered.last_error, recovered.enqueued) == (
            DeliveryStatus.PENDING,
            None,
            True,
        )
    assert records.deliveries["msg_9"] == old_failure


def test_an_endpoint_that_would_skip_them_again_refuses_with_the_reason() -> None:
    records, queue = Records([delivery(1, DeliveryStatus.FAILED)]), Queue()
    for fields, reason in (
        ({"enabled": False, "disabled_reason": "gone: the endpoint answered 410"}, "410"),
        ({"verification": Verification.FAILED}, "not verified"),
    ):
        with pytest.raises(Conflict, match=reason):
            recover(records, queue, endpoint_store(**fields))
    assert queue.jobs == [] and records.deliveries["msg_1"].status is DeliveryStatus.FAILED


def test_deliveries_whose_job_could_not_be_queued_are_found_by_the_next_recovery() -> None:
    records = Records([delivery(1, DeliveryStatus.FAILED), delivery(2, DeliveryStatus.SKIPPED)])
    with pytest.raises(StorageUnavailable, match="1 of 2"):
        recover(records, Queue(refuse=1), include_skipped=True)
    assert records.deliveries["msg_1"].status is DeliveryStatus.FAILED  # as it was: not lost
    assert records.deliveries["msg_2"].status is DeliveryStatus.PENDING  # its job is queued

    queue = Queue()
    assert recover(records, queue, include_skipped=True) == 1
    assert [job.delivery_id for job in queue.jobs] == ["msg_1"]


def test_a_queue_that_fails_outright_leaves_every_delivery_as_it_was() -> None:
    records = Records([delivery(1, DeliveryStatus.FAILED), delivery(2, DeliveryStatus.FAILED)])

    class Down:
        def send(self, jobs: Sequence[DeliveryJob]) -> list[str]:
            raise StorageUnavailable("Storage is unavailable (queue deliveries); please retry")

    with pytest.raises(StorageUnavailable, match="2 of 2"):
        recover(records, Down())  # type: ignore[arg-type]
    assert {d.status for d in records.deliveries.values()} == {DeliveryStatus.FAILED}
