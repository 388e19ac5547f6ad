"""Fan-out with in-memory ports: matching endpoints, agency filters, idempotent jobs, queue failures."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

import pytest

from leadhub.outbound.fanout import EnqueueFailed, envelope_for, fan_out, subscribed_endpoints
from leadhub.outbound.models import (
    Delivery,
    DeliveryJob,
    EndpointSecret,
    Verification,
    WebhookEndpoint,
    delivery_id_for,
)
from leadhub.outbound.outbox import ENDPOINT_DISABLED, Fact, endpoint_facts
from tests.fakes import InMemoryEndpoints

NOW = "2026-11-23T09:00:00.000Z"
FACT = Fact("lead.created", "acc_client", NOW, "lead_1", {"leadId": "lead_1", "phone": "+14155550100"})


def endpoint(account: str, endpoint_id: str, **fields) -> WebhookEndpoint:
    base = WebhookEndpoint(
        account_id=account,
        endpoint_id=endpoint_id,
        name=endpoint_id,
        url=f"https://{endpoint_id}.example.com/",
        secrets=(EndpointSecret(b"x", NOW),),
        created_at=NOW,
        updated_at=NOW,
        verification=Verification.VERIFIED,
    )
    return replace(base, **fields)


class Parents:
    def __init__(self, parents: dict[str, str]) -> None:
        self.parents = parents

    def parent_of(self, account_id: str) -> str | None:
        return self.parents.get(account_id)


class Log:
    def __init__(self) -> None:
        self.deliveries: dict[str, Delivery] = {}

    def create_if_new(self, delivery: Delivery) -> bool:
        existing = self.deliveries.setdefault(delivery.delivery_id, delivery)
        return existing is delivery or not existing.enqueued

    def mark_enqueued(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            self.deliveries[delivery.delivery_id] = replace(
                self.deliveries[delivery.delivery_id], enqueued=True
            )


class Queue:
    def __init__(self, failing: int = 0) -> None:
        self.jobs: list[DeliveryJob] = []
        self.failing = failing

    def send(self, jobs: Sequence[DeliveryJob]) -> list[str]:
        failed = [job.delivery_id for job in jobs[: self.failing]]
        self.failing = 0
        self.jobs += [job for job in jobs if job.delivery_id not in failed]
        return failed


@pytest.fixture
def directory() -> InMemoryEndpoints:
    endpoints = InMemoryEndpoints()
    for e in (
        endpoint("acc_client", "wep_own"),
        endpoint("acc_client", "wep_paused", enabled=False),
        endpoint("acc_client", "wep_unverified", verification=Verification.FAILED),
        endpoint("acc_client", "wep_updates_only", events=("lead.updated",)),
        endpoint("acc_agency", "wep_agency_all"),
        endpoint("acc_agency", "wep_agency_other", account_filter=("acc_someone_else",)),
        endpoint("acc_stranger", "wep_stranger"),
    ):
        endpoints.endpoints[(e.account_id, e.endpoint_id)] = e
    return endpoints


def test_only_verified_subscribed_endpoints_of_the_account_and_its_agency_match(directory) -> None:
    matched = subscribed_endpoints(FACT, directory, Parents({"acc_client": "acc_agency"}))
    assert sorted(e.endpoint_id for e in matched) == ["wep_agency_all", "wep_own", "wep_paused"]


def test_one_job_per_endpoint_with_a_stable_id_and_no_second_job_on_redelivery(directory) -> None:
    log, queue = Log(), Queue()
    parents = Parents({"acc_client": "acc_agency"})
    first = fan_out([FACT], endpoints=directory, parents=parents, log=log, queue=queue, now_iso=NOW)
    again = fan_out([FACT], endpoints=directory, parents=parents, log=log, queue=queue, now_iso=NOW)
    assert (first.enqueued, again.enqueued, again.already_enqueued) == (2, 0, 2)
    event_id = envelope_for(FACT)["id"]
    assert sorted(job.delivery_id for job in queue.jobs) == sorted(
        delivery_id_for(event_id, e) for e in ("wep_own", "wep_agency_all")
    )
    agency_job = next(job for job in queue.jobs if job.endpoint_id == "wep_agency_all")
    assert agency_job.account_id == "acc_agency" and agency_job.envelope["accountId"] == "acc_client"
    assert log.deliveries[agency_job.delivery_id].source_account_id == "acc_client"


def test_a_disabled_endpoint_gets_a_skipped_record_to_recover_later_and_no_job(directory) -> None:
    directory.endpoints[("acc_client", "wep_paused")] = endpoint(
        "acc_client", "wep_paused", enabled=False, disabled_reason="gone: the endpoint answered 410"
    )
    log, queue = Log(), Queue()
    for _ in range(2):  # also when the stream hands the record over again
        fan_out([FACT], endpoints=directory, parents=Parents({}), log=log, queue=queue, now_iso=NOW)

    assert [job.endpoint_id for job in queue.jobs] == ["wep_own"]
    paused = log.deliveries[delivery_id_for(envelope_for(FACT)["id"], "wep_paused")]
    assert (paused.status.value, paused.enqueued) == ("skipped", False)
    assert paused.last_error == "endpoint disabled (gone: the endpoint answered 410)"
    assert paused.envelope == envelope_for(FACT)  # what recover sends
    unverified = delivery_id_for(envelope_for(FACT)["id"], "wep_unverified")
    assert unverified not in log.deliveries  # never verified: it never received anything


def test_a_failed_enqueue_fails_the_record_and_the_retry_queues_only_what_is_missing(directory) -> None:
    log, queue = Log(), Queue(failing=1)
    with pytest.raises(EnqueueFailed):
        fan_out([FACT], endpoints=directory, parents=Parents({}), log=log, queue=queue, now_iso=NOW)
    assert queue.jobs == []
    retry = fan_out([FACT], endpoints=directory, parents=Parents({}), log=log, queue=queue, now_iso=NOW)
    assert retry.enqueued == 1 and [job.endpoint_id for job in queue.jobs] == ["wep_own"]


def test_the_envelope_follows_the_contract_and_its_id_is_derived_from_the_fact() -> None:
    envelope = envelope_for(FACT)
    assert set(envelope) == {"id", "event", "timestamp", "accountId", "data"}
    assert envelope["id"].startswith("evt_") and envelope == envelope_for(FACT)
    assert envelope_for(replace(FACT, occurred_at="2026-11-24T09:00:00.000Z"))["id"] != envelope["id"]


def test_endpoint_disabled_is_a_fact_only_when_leadhub_disabled_it() -> None:
    live = endpoint("acc_client", "wep_1")
    gone = replace(live, enabled=False, disabled_reason="gone: the endpoint answered 410")
    [fact] = endpoint_facts(live, gone)
    assert (fact.event, fact.subject_id, fact.data["reason"]) == (
        ENDPOINT_DISABLED,
        "wep_1",
        gone.disabled_reason,
    )
    assert endpoint_facts(live, replace(live, enabled=False, disabled_reason="api")) == []
    assert endpoint_facts(gone, gone) == [] and endpoint_facts(None, live) == []


def test_stream_images_with_base64_binaries_read_back_as_endpoints() -> None:
    import base64

    from leadhub.outbound.adapters.dynamodb_endpoints import endpoint_from_image, endpoint_to_values
    from leadhub.platform.adapters.dynamodb_items import to_item

    stored = endpoint("acc_client", "wep_1", headers_ciphertext=b"\x00\xffsecret")
    image = json.loads(
        json.dumps(to_item(endpoint_to_values(stored)), default=lambda b: base64.b64encode(b).decode())
    )
    assert endpoint_from_image(image) == stored
