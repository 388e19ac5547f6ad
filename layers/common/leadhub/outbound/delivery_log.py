"""The delivery log and recovery, as the management API offers them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from leadhub.accounts.models import Principal
from leadhub.outbound.endpoints import get_endpoint
from leadhub.outbound.models import Attempt, Delivery, DeliveryJob, DeliveryStatus
from leadhub.outbound.ports import DeliveryLog, DeliveryQueue, EndpointRepository
from leadhub.platform.errors import Conflict, FieldError, InvalidRequest, NotFound, StorageUnavailable
from leadhub.platform.paging import Page
from leadhub.platform.timestamps import to_iso

RECOVER_WINDOW = timedelta(days=14)
RECOVERABLE = frozenset({DeliveryStatus.FAILED})
# How many times one page of a status-filtered listing reads the log (each read at most `limit` deliveries).
MAX_FILTERED_READS = 5


def list_deliveries(
    principal: Principal,
    endpoint_id: str,
    status: DeliveryStatus | None,
    limit: int,
    cursor: str | None,
    *,
    endpoints: EndpointRepository,
    log: DeliveryLog,
) -> Page[Delivery]:
    """Newest first. With `status`, the log is read on while matches fill the page, at most
    MAX_FILTERED_READS times: a page short of `limit` with a cursor means the reads ran out first (follow
    the cursor for older deliveries); without a cursor, the log is at its end."""
    get_endpoint(principal, endpoint_id, endpoints=endpoints)  # 404 unless it is the caller's
    found: list[Delivery] = []
    for _ in range(MAX_FILTERED_READS):
        # Never more than the page still needs: the log's cursor continues after the last item read.
        page = log.list_for_endpoint(endpoint_id, limit - len(found), cursor)
        found += [
            d
            for d in page.items
            if d.account_id == principal.account_id and (status is None or d.status is status)
        ]
        cursor = page.next_cursor
        if cursor is None or len(found) >= limit:
            break
    return Page(found, cursor)


def get_delivery(
    principal: Principal, delivery_id: str, *, log: DeliveryLog
) -> tuple[Delivery, list[Attempt]]:
    delivery = log.get(principal.account_id, delivery_id)
    if delivery is None:
        raise NotFound("Delivery not found")
    return delivery, attempts_of(delivery, log=log)


def attempts_of(delivery: Delivery, *, log: DeliveryLog) -> list[Attempt]:
    """A delivery's attempts, oldest first (a delivery of a listing: it is the caller's already)."""
    return sorted(log.attempts(delivery.delivery_id), key=lambda a: (a.at, a.number))


def _job(delivery: Delivery, *, manual: bool) -> DeliveryJob:
    return DeliveryJob(
        delivery.delivery_id, delivery.account_id, delivery.endpoint_id, delivery.envelope, manual
    )


def _send(jobs: Sequence[DeliveryJob], queue: DeliveryQueue) -> None:
    if jobs and queue.send(jobs):
        raise StorageUnavailable("Could not queue the delivery; please retry")


def retry_delivery(
    principal: Principal, delivery_id: str, *, log: DeliveryLog, queue: DeliveryQueue
) -> Delivery:
    """One attempt now, outside the schedule: a scheduled retry still comes when it is due, and a
    delivery that has been delivered meanwhile is not sent again."""
    delivery, _ = get_delivery(principal, delivery_id, log=log)
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
    endpoints: EndpointRepository,
    log: DeliveryLog,
    queue: DeliveryQueue,
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
    endpoint = get_endpoint(principal, endpoint_id, endpoints=endpoints)
    if endpoint.inactive_reason is not None:
        raise Conflict(
            f"Cannot recover deliveries: {endpoint.inactive_reason}. Enable (and verify) the endpoint first."
        )
    statuses = RECOVERABLE | {DeliveryStatus.SKIPPED} if include_skipped else RECOVERABLE
    found = log.recoverable_since(endpoint_id, since, statuses)
    recovered = [d for d in found if d.account_id == principal.account_id]
    stamp = to_iso(now)
    for delivery in recovered:
        # Pending before its job exists, so that the worker's outcome is never overwritten by this.
        log.save(
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
                log.save(delivery)  # as it was: the next recover finds it again
        raise StorageUnavailable(
            f"Could not queue {len(unsent)} of {len(recovered)} deliveries; please retry the recovery"
        )
    return len(recovered)
