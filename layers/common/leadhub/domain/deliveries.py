"""The delivery log and recovery, as the management API offers them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from leadhub.domain.delivery_request import request_headers
from leadhub.domain.url_safety import HttpPost, UnsafeUrl, check_webhook_url
from leadhub.domain.webhook_endpoints import EndpointContext, get_endpoint
from leadhub.errors import Conflict, FieldError, InvalidRequest, NotFound, StorageUnavailable
from leadhub.ids import sortable_id
from leadhub.models.account import Principal
from leadhub.models.delivery import Attempt, Delivery, DeliveryJob, DeliveryStatus
from leadhub.models.lead import Lead
from leadhub.models.page import Page
from leadhub.models.webhook_endpoint import WebhookEndpoint
from leadhub.timestamps import to_iso

RECOVER_WINDOW = timedelta(days=14)
RECOVERABLE = frozenset({DeliveryStatus.FAILED})
TEST_TIMEOUT_S = 10.0


class DeliveryRecords(Protocol):
    def get(self, account_id: str, delivery_id: str) -> Delivery | None: ...

    def save(self, delivery: Delivery) -> None: ...

    def attempts(self, delivery_id: str) -> list[Attempt]: ...

    def list_for_endpoint(self, endpoint_id: str, limit: int, cursor: str | None) -> Page[Delivery]: ...

    def recoverable_since(
        self, endpoint_id: str, since: datetime, statuses: frozenset[DeliveryStatus]
    ) -> list[Delivery]:
        """The endpoint's deliveries created since `since` whose status is one of `statuses`."""


class JobSender(Protocol):
    def send(self, jobs: Sequence[DeliveryJob]) -> list[str]: ...


def list_deliveries(
    principal: Principal,
    endpoint_id: str,
    status: DeliveryStatus | None,
    limit: int,
    cursor: str | None,
    *,
    ctx: EndpointContext,
    records: DeliveryRecords,
) -> Page[Delivery]:
    """Newest first; with `status`, a page may hold fewer than `limit` items (keep following the cursor)."""
    get_endpoint(principal, endpoint_id, ctx)  # 404 unless it is the caller's
    page = records.list_for_endpoint(endpoint_id, limit, cursor)
    items = [d for d in page.items if d.account_id == principal.account_id]
    if status is not None:
        items = [d for d in items if d.status is status]
    return Page(items, page.next_cursor)


def get_delivery(
    principal: Principal, delivery_id: str, *, records: DeliveryRecords
) -> tuple[Delivery, list[Attempt]]:
    delivery = records.get(principal.account_id, delivery_id)
    if delivery is None:
        raise NotFound("Delivery not found")
    return delivery, attempts_of(delivery, records=records)


def attempts_of(delivery: Delivery, *, records: DeliveryRecords) -> list[Attempt]:
    """A delivery's attempts, oldest first (a delivery of a listing: it is the caller's already)."""
    return sorted(records.attempts(delivery.delivery_id), key=lambda a: (a.at, a.number))


def _job(delivery: Delivery, *, manual: bool) -> DeliveryJob:
    return DeliveryJob(
        delivery.delivery_id, delivery.account_id, delivery.endpoint_id, delivery.envelope, manual
    )


def _send(jobs: Sequence[DeliveryJob], queue: JobSender) -> None:
    if jobs and queue.send(jobs):
        raise StorageUnavailable("Could not queue the delivery; please retry")


def retry_delivery(
    principal: Principal, delivery_id: str, *, records: DeliveryRecords, queue: JobSender
) -> Delivery:
    """One attempt now, outside the schedule: a scheduled retry still comes when it is due, and a
    delivery that has been delivered meanwhile is not sent again."""
    delivery, _ = get_delivery(principal, delivery_id, records=records)
    if delivery.status is DeliveryStatus.DELIVERED:
        raise Conflict("This delivery was delivered; it is not sent again")
    _send([_job(delivery, manual=True)], queue)
    return delivery


def recover_deliveries(
    principal: Principal,
    endpoint_id: str,
    since: datetime,
    now: datetime,
    *,
    include_skipped: bool = False,
    ctx: EndpointContext,
    records: DeliveryRecords,
    queue: JobSender,
) -> int:
    """Queue every failed delivery of the endpoint since `since` (at most 14 days back) again, with a
    fresh schedule, and with `include_skipped` those skipped while it was disabled. Returns how many
    were queued. The endpoint must be active: otherwise they would only be skipped again."""
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    if since < now - RECOVER_WINDOW or since > now:
        raise InvalidRequest(
            "Invalid recovery window", [FieldError("since", "must lie within the last 14 days")]
        )
    endpoint = get_endpoint(principal, endpoint_id, ctx)
    if endpoint.inactive_reason is not None:
        raise Conflict(
            f"Cannot recover deliveries: {endpoint.inactive_reason}. Enable (and verify) the endpoint first."
        )
    statuses = RECOVERABLE | {DeliveryStatus.SKIPPED} if include_skipped else RECOVERABLE
    found = records.recoverable_since(endpoint_id, since, statuses)
    recovered = [d for d in found if d.account_id == principal.account_id]
    stamp = to_iso(now)
    for delivery in recovered:
        # Pending before its job exists, so that the worker's outcome is never overwritten by this.
        records.save(
            replace(
                delivery,
                status=DeliveryStatus.PENDING,
                last_error=None,
                enqueued=True,  # a skipped one was not: the fan-out must not queue it a second time
                next_attempt_at=stamp,
                updated_at=stamp,
            )
        )
    try:
        unsent = set(queue.send([_job(d, manual=False) for d in recovered])) if recovered else set()
    except StorageUnavailable:  # which of them went out is unknown: recovering one twice is harmless
        unsent = {d.delivery_id for d in recovered}
    if unsent:
        for delivery in recovered:
            if delivery.delivery_id in unsent:
                records.save(delivery)  # as it was: the next recover finds it again
        raise StorageUnavailable(
            f"Could not queue {len(unsent)} of {len(recovered)} deliveries; please retry the recovery"
        )
    return len(recovered)


@dataclass(frozen=True, slots=True)
class TestResult:
    delivered: bool
    status_code: int | None
    duration_ms: float
    error: str | None
    # Whether the endpoint gets events at all: a test reaches an unverified or disabled one, events don't.
    receives_events: bool
    reason: str | None  # why it does not


def send_test_event(
    principal: Principal,
    endpoint_id: str,
    now: datetime,
    *,
    ctx: EndpointContext,
    http: HttpPost,
) -> TestResult:
    """A synthetic, signed `lead.created` with `"test": true`, sent now to the saved endpoint, whether
    or not it receives events (the answer says whether it does, and why not). The URL is checked again
    like every delivery, and only the status and duration come back (never the response body), so this
    cannot probe internal hosts."""
    endpoint = get_endpoint(principal, endpoint_id, ctx)
    reason = _not_receiving(endpoint)
    envelope = {
        "id": sortable_id("evt"),
        "event": "lead.created",
        "timestamp": to_iso(now),
        "accountId": principal.account_id,
        "test": True,
        "data": _test_lead(principal.account_id, to_iso(now)).to_public(),
    }
    body = json.dumps(envelope, separators=(",", ":")).encode()
    try:
        target = check_webhook_url(endpoint.url, ctx.resolver, allow_private=ctx.allow_private_targets)
    except UnsafeUrl as exc:
        return TestResult(False, None, 0.0, str(exc), reason is None, reason)
    # Signed and dressed exactly like a delivery (the envelope as is: a test shows its "test" flag).
    job = DeliveryJob(sortable_id("msg"), principal.account_id, endpoint.endpoint_id, envelope)
    headers = request_headers(job, endpoint, body, ctx.cipher, now)
    outcome = http.post(target, body, headers, TEST_TIMEOUT_S)
    error = None if outcome.status is not None else (outcome.error_class or "error")
    return TestResult(outcome.succeeded, outcome.status, outcome.duration_ms, error, reason is None, reason)


def _test_lead(account_id: str, at: str) -> Lead:
    """A synthetic lead, shaped like every lead.created's data (the catalog's schema holds for it too)."""
    return Lead(
        account_id=account_id,
        lead_id="lead_test",
        captured_at=at,
        updated_at=at,
        last_activity_at=at,
        source="test",
        phone="+14155550100",
        name="Test Lead",
        email="test@example.com",
        tags=("test",),
    )


def _not_receiving(endpoint: WebhookEndpoint) -> str | None:
    """Why events do not go to the endpoint, and what to do about it; None when they do."""
    reason = endpoint.inactive_reason
    if reason is None:
        return None
    if not endpoint.enabled:
        return f"{reason}; PATCH enabled: true resumes deliveries"
    failure = f": {endpoint.verification_error}" if endpoint.verification_error else ""
    return f"{reason} ({endpoint.verification_mode} mode){failure}"
