"""One delivery attempt: a queued job becomes a signed POST to its endpoint, and the outcome decides what
happens to its SQS message (README "Delivery and retries").

Attempt n is the message's n-th receive (`ApproximateReceiveCount`). A failure hides the message for the
schedule's next delay; after the last attempt the delivery is marked failed and the message released, so
its next receive passes the redrive's `maxReceiveCount` (which must equal the number of attempts:
`retry_schedule.max_receive_count`) and SQS moves it to the DLQ. At-least-once: the POST goes out before
it is recorded, so a crash repeats it, with the same `webhook-id` that receivers deduplicate on."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from leadhub.outbound.delivery_request import request_body, request_headers
from leadhub.outbound.models import Attempt, Delivery, DeliveryJob, DeliveryStatus, WebhookEndpoint
from leadhub.outbound.ports import (
    MAX_SNIPPET_BYTES,
    DeliveryLog,
    EndpointRepository,
    HttpErrorClass,
    HttpOutcome,
    HttpPost,
    Resolver,
)
from leadhub.outbound.url_safety import HostNotResolved, UnsafeUrl, check_webhook_url
from leadhub.platform.ports import SecretCipher
from leadhub.platform.retry_schedule import (
    DEFAULT_JITTER,
    DEFAULT_SCHEDULE,
    next_delay,
    parse_schedule,
)
from leadhub.platform.timestamps import from_iso, to_iso

GONE_REASON = "gone: the endpoint answered 410"
# What a delivery shows when its last attempt never recorded an outcome (the message is in the DLQ).
INTERRUPTED_REASON = "interrupted: the last attempt stopped before its outcome was recorded"
_ENDPOINT_WRITE_TRIES = 3  # a disable that loses a race with an API edit re-reads and tries again


class Outcome(StrEnum):
    DELIVERED = "delivered"  # 2xx
    GONE = "gone"  # 410: the receiver wants no more deliveries; disable the endpoint
    RETRY = "retry"  # anything else: try again on the schedule (or fail once it is exhausted)


def classify(status: int | None, error_class: str | None = None) -> Outcome:
    """What an attempt's result means. `status` is the HTTP status, None when no response arrived;
    `error_class` then names why (timeout, connection reset, TLS error, address refused as unsafe, …)
    and does not change the outcome: all of those are retried. Redirects are never followed, so a 3xx
    is a failure like any other non-2xx; only 410 Gone stops deliveries to the endpoint."""
    if status is None:
        return Outcome.RETRY
    if 200 <= status <= 299:
        return Outcome.DELIVERED
    if status == 410:
        return Outcome.GONE
    return Outcome.RETRY


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    schedule: tuple[float, ...] = parse_schedule(DEFAULT_SCHEDULE)
    jitter: float = DEFAULT_JITTER
    timeout_s: float = 15.0
    auto_disable_after: timedelta = timedelta(hours=72)
    allow_private_targets: bool = False  # local dev: loopback targets (ALLOW_PRIVATE_WEBHOOK_TARGETS)


class Disposition(StrEnum):
    DELIVERED = "delivered"
    ALREADY_DELIVERED = "already_delivered"  # a redelivered message of a delivered delivery: nothing sent
    SKIPPED = "skipped"  # the endpoint is deleted, disabled or unverified: nothing sent
    GONE = "gone"  # the endpoint answered 410 and is now disabled
    MANUAL_FAILED = "manual_failed"  # a manual attempt failed; it is not rescheduled
    RETRY = "retry"  # failed; the message comes back after `visibility_timeout` seconds
    EXHAUSTED = "exhausted"  # the last attempt failed: the delivery is failed, the message goes to the DLQ


@dataclass(frozen=True, slots=True)
class AttemptResult:
    disposition: Disposition
    delivery_id: str
    endpoint_id: str
    attempt: int | None = None  # the schedule position (receive count) when a request was attempted
    status_code: int | None = None
    error_class: str | None = None
    duration_ms: float | None = None
    reason: str | None = None  # why a delivery was skipped
    # None: the job is finished, delete the message. A number: hide the message for that many seconds
    # and report it as failed (0 after the last attempt, so that SQS dead-letters it at once).
    visibility_timeout: int | None = None

    @property
    def done(self) -> bool:
        return self.visibility_timeout is None


def attempt_delivery(
    job: DeliveryJob,
    receive_count: int,
    *,
    log: DeliveryLog,
    endpoints: EndpointRepository,
    cipher: SecretCipher,
    resolver: Resolver,
    http: HttpPost,
    config: DeliveryConfig,
    now: datetime,
    rng: random.Random | None = None,
) -> AttemptResult:
    """Attempt `job` once (see the module docstring). `receive_count` is the message's
    ApproximateReceiveCount; `now` is when this attempt starts (its signature timestamp)."""
    delivery = log.get(job.account_id, job.delivery_id) or _new_delivery(job, now)
    if delivery.status is DeliveryStatus.DELIVERED:
        return AttemptResult(Disposition.ALREADY_DELIVERED, job.delivery_id, job.endpoint_id)

    endpoint = endpoints.get(job.account_id, job.endpoint_id)
    if endpoint is None:
        return _skip(delivery, job, "endpoint deleted", log, now)
    if (reason := endpoint.inactive_reason) is not None:
        return _skip(delivery, job, reason, log, now)

    attempt_number = max(receive_count, 1)
    if not job.manual and attempt_number >= len(config.schedule):
        # Should the worker die before this attempt is recorded, SQS still dead-letters the message
        # (its next receive exceeds maxReceiveCount): the log must not say pending for ever.
        log.save(
            replace(
                delivery,
                status=DeliveryStatus.FAILED,
                next_attempt_at=None,
                last_error=INTERRUPTED_REASON,
                updated_at=to_iso(now),
            )
        )
    outcome = _send(job, endpoint, cipher=cipher, resolver=resolver, http=http, config=config, now=now)
    result = classify(outcome.status, outcome.error_class)
    finished = now + timedelta(milliseconds=outcome.duration_ms)
    update: dict[str, Any] = {
        "attempts": delivery.attempts + 1,
        "last_status_code": outcome.status,
        "last_error": _error_text(outcome),
    }
    visibility: int | None = None
    next_attempt_at: str | None = None

    if result is Outcome.DELIVERED:
        disposition = Disposition.DELIVERED
        update |= {
            "status": DeliveryStatus.DELIVERED,
            "delivered_at": to_iso(finished),
            "next_attempt_at": None,
        }
    elif result is Outcome.GONE:
        disposition = Disposition.GONE
        update |= {"status": DeliveryStatus.FAILED, "next_attempt_at": None}
    elif job.manual:
        # One attempt now; the delivery keeps its status and its own schedule (if it has one).
        disposition = Disposition.MANUAL_FAILED
    else:
        delay = next_delay(
            config.schedule,
            attempt_number,
            jitter=config.jitter,
            retry_after=outcome.headers.get("retry-after"),
            rng=rng,
            now=finished,
        )
        if delay is None:
            disposition, visibility = Disposition.EXHAUSTED, 0
            update |= {"status": DeliveryStatus.FAILED, "next_attempt_at": None}
        else:
            disposition, visibility = Disposition.RETRY, math.ceil(delay)
            next_attempt_at = to_iso(finished + timedelta(seconds=visibility))
            update |= {"status": DeliveryStatus.PENDING, "next_attempt_at": next_attempt_at}

    attempt = Attempt(
        delivery_id=job.delivery_id,
        number=delivery.attempts + 1,
        at=to_iso(now),
        duration_ms=outcome.duration_ms,
        status_code=outcome.status,
        error_class=outcome.error_class,
        response_snippet=outcome.body_snippet[:MAX_SNIPPET_BYTES].decode("utf-8", "replace"),
        next_attempt_at=next_attempt_at,
        manual=job.manual,
    )
    log.record_attempt(replace(delivery, **update), attempt)

    if disposition is Disposition.DELIVERED:
        _update_endpoint(endpoint, endpoints, now, _clear_failing, tries=1)
    elif disposition is Disposition.GONE:
        _update_endpoint(endpoint, endpoints, now, _disable(GONE_REASON), tries=_ENDPOINT_WRITE_TRIES)
    elif disposition is Disposition.EXHAUSTED:
        _update_endpoint(endpoint, endpoints, now, _track_failing(now, config.auto_disable_after), tries=1)

    return AttemptResult(
        disposition,
        job.delivery_id,
        job.endpoint_id,
        attempt=attempt_number,
        status_code=outcome.status,
        error_class=outcome.error_class,
        duration_ms=outcome.duration_ms,
        visibility_timeout=visibility,
    )


# --- the request --------------------------------------------------------------------------------------


def _send(
    job: DeliveryJob,
    endpoint: WebhookEndpoint,
    *,
    cipher: SecretCipher,
    resolver: Resolver,
    http: HttpPost,
    config: DeliveryConfig,
    now: datetime,
) -> HttpOutcome:
    body = request_body(job, endpoint)
    headers = request_headers(job, endpoint, body, cipher, now)
    try:
        # Checked again at every send; the sender re-resolves and connects only to checked addresses.
        target = check_webhook_url(endpoint.url, resolver, allow_private=config.allow_private_targets)
    except UnsafeUrl as exc:
        error = (
            HttpErrorClass.DNS_ERROR if isinstance(exc, HostNotResolved) else HttpErrorClass.BLOCKED_ADDRESS
        )
        return HttpOutcome(status=None, error_class=str(error), error_detail=exc.message)
    return http.post(target, body, headers, config.timeout_s)


def _error_text(outcome: HttpOutcome) -> str | None:
    if outcome.status is not None:
        return None if 200 <= outcome.status < 300 else f"HTTP {outcome.status}"
    detail = outcome.error_detail or ""
    return f"{outcome.error_class}: {detail}" if detail else outcome.error_class or "error"


# --- the delivery record ------------------------------------------------------------------------------


def _new_delivery(job: DeliveryJob, now: datetime) -> Delivery:
    """For a job whose record is missing (e.g. expired, or queued by hand): rebuilt from the job."""
    stamp = to_iso(now)
    return Delivery(
        account_id=job.account_id,
        delivery_id=job.delivery_id,
        endpoint_id=job.endpoint_id,
        event_id=str(job.envelope.get("id", "")),
        event=job.event,
        source_account_id=str(job.envelope.get("accountId") or job.account_id),
        created_at=stamp,
        updated_at=stamp,
        envelope=job.envelope,
        enqueued=True,
    )


def _skip(
    delivery: Delivery, job: DeliveryJob, reason: str, log: DeliveryLog, now: datetime
) -> AttemptResult:
    if job.manual:
        # A manual retry leaves the status alone (a failed delivery stays failed, so `recover` finds it).
        skipped = replace(delivery, last_error=reason, updated_at=to_iso(now))
    else:
        skipped = replace(
            delivery,
            status=DeliveryStatus.SKIPPED,
            last_error=reason,
            next_attempt_at=None,
            updated_at=to_iso(now),
        )
    log.save(skipped)
    return AttemptResult(Disposition.SKIPPED, job.delivery_id, job.endpoint_id, reason=reason)


# --- the endpoint's health ----------------------------------------------------------------------------

EndpointChange = Callable[[WebhookEndpoint], WebhookEndpoint | None]  # None: nothing to change


def _clear_failing(endpoint: WebhookEndpoint) -> WebhookEndpoint | None:
    return None if endpoint.failing_since is None else replace(endpoint, failing_since=None)


def _disable(reason: str) -> EndpointChange:
    def change(endpoint: WebhookEndpoint) -> WebhookEndpoint | None:
        if not endpoint.enabled:
            return None
        # failing_since starts afresh when the customer enables the endpoint again.
        return replace(endpoint, enabled=False, disabled_reason=reason, failing_since=None)

    return change


def _track_failing(now: datetime, auto_disable_after: timedelta) -> EndpointChange:
    """After an exhausted delivery: remember when the failing began, or disable the endpoint once every
    delivery has been exhausting for `auto_disable_after`."""

    def change(endpoint: WebhookEndpoint) -> WebhookEndpoint | None:
        if endpoint.failing_since is None:
            return replace(endpoint, failing_since=to_iso(now))
        since = from_iso(endpoint.failing_since)
        if now - since < auto_disable_after:
            return None
        hours = (now - since).total_seconds() / 3600
        reason = (
            f"failing: every delivery exhausted its retries for {hours:.0f} h "
            f"(since {endpoint.failing_since})"
        )
        return _disable(reason)(endpoint)

    return change


def _update_endpoint(
    endpoint: WebhookEndpoint,
    endpoints: EndpointRepository,
    now: datetime,
    change: EndpointChange,
    *,
    tries: int,
) -> None:
    """Apply `change` with an optimistic write on the endpoint's version. A lost race is re-read and
    tried again up to `tries` times, then ignored: the next delivery's outcome decides afresh."""
    current: WebhookEndpoint | None = endpoint
    for _ in range(tries):
        if current is None:
            return  # deleted meanwhile
        changed = change(current)
        if changed is None:
            return
        saved = replace(changed, version=current.version + 1, updated_at=to_iso(now))
        if endpoints.replace(saved, current.version):
            return
        current = endpoints.get(endpoint.account_id, endpoint.endpoint_id)
