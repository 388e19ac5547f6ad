"""Fan-out: stored facts become events, and each event one delivery job per matching endpoint.

The delivery id derives from (event, endpoint), so a stream record processed twice yields the same
deliveries; a delivery is recorded conditionally, and only one never enqueued is enqueued again. A
disabled endpoint gets a `skipped` record instead of a job: `recover` with `includeSkipped` sends those
once it is enabled again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from leadhub.outbound.models import (
    Delivery,
    DeliveryJob,
    DeliveryStatus,
    Verification,
    WebhookEndpoint,
    delivery_id_for,
)
from leadhub.outbound.outbox import Fact
from leadhub.outbound.ports import DeliveryLog, DeliveryQueue, EndpointRepository, ParentLookup
from leadhub.platform.ids import derived_id


def envelope_for(fact: Fact) -> dict[str, Any]:
    """The delivered JSON. The event id is derived from the fact, so redelivery keeps it."""
    event_id = derived_id("evt", fact.event, fact.account_id, fact.subject_id, fact.occurred_at)
    return {
        "id": event_id,
        "event": fact.event,
        "timestamp": fact.occurred_at,
        "accountId": fact.account_id,
        "data": fact.data,
    }


def subscribed_endpoints(
    fact: Fact, endpoints: EndpointRepository, parents: ParentLookup
) -> list[WebhookEndpoint]:
    """Verified endpoints of the fact's account, and of its agency where the filter lets it through,
    that select the fact's event: enabled or not."""
    candidates = list(endpoints.list_for_account(fact.account_id))
    parent = parents.parent_of(fact.account_id)
    if parent is not None:
        candidates += endpoints.list_for_account(parent)
    return [
        e
        for e in candidates
        if e.verification is Verification.VERIFIED
        and e.subscribes_to(fact.event)
        and e.covers_account(fact.account_id)
    ]


@dataclass(frozen=True, slots=True)
class FanoutResult:
    enqueued: int
    already_enqueued: int


class EnqueueFailed(RuntimeError):
    """Some jobs could not be queued: the stream record is retried (deliveries are idempotent)."""


def fan_out(
    facts: Sequence[Fact],
    *,
    endpoints: EndpointRepository,
    parents: ParentLookup,
    log: DeliveryLog,
    queue: DeliveryQueue,
    now_iso: str,
) -> FanoutResult:
    pending: list[tuple[Delivery, DeliveryJob]] = []
    skipped = 0
    for fact in facts:
        envelope = envelope_for(fact)
        for endpoint in subscribed_endpoints(fact, endpoints, parents):
            delivery = Delivery(
                account_id=endpoint.account_id,
                delivery_id=delivery_id_for(envelope["id"], endpoint.endpoint_id),
                endpoint_id=endpoint.endpoint_id,
                event_id=envelope["id"],
                event=fact.event,
                source_account_id=fact.account_id,
                created_at=now_iso,
                updated_at=now_iso,
                envelope=envelope,
            )
            if not endpoint.active:  # disabled: recorded for `recover`, not sent
                log.create_if_new(
                    replace(delivery, status=DeliveryStatus.SKIPPED, last_error=endpoint.inactive_reason)
                )
                continue
            if log.create_if_new(delivery):
                job = DeliveryJob(delivery.delivery_id, endpoint.account_id, endpoint.endpoint_id, envelope)
                pending.append((delivery, job))
            else:
                skipped += 1
    if not pending:
        return FanoutResult(0, skipped)
    failed = set(queue.send([job for _, job in pending]))
    sent = [delivery for delivery, job in pending if job.delivery_id not in failed]
    if sent:
        log.mark_enqueued(sent)
    if failed:
        raise EnqueueFailed(f"{len(failed)} delivery job(s) could not be queued")
    return FanoutResult(len(sent), skipped)
