"""A test send to an endpoint (the API's `POST …/test`): a synthetic, signed `lead.created`, sent now."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from leadhub.accounts.models import Principal
from leadhub.leads.models import Lead
from leadhub.outbound.delivery_request import request_headers
from leadhub.outbound.endpoints import get_endpoint
from leadhub.outbound.models import DeliveryJob, WebhookEndpoint
from leadhub.outbound.ports import EndpointRepository, HttpPost, Resolver
from leadhub.outbound.url_safety import UnsafeUrl, check_webhook_url
from leadhub.platform.ids import sortable_id
from leadhub.platform.ports import SecretCipher
from leadhub.platform.timestamps import to_iso

TEST_TIMEOUT_S = 10.0


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
    endpoints: EndpointRepository,
    cipher: SecretCipher,
    resolver: Resolver,
    allow_private_targets: bool,
    http: HttpPost,
) -> TestResult:
    """A synthetic, signed `lead.created` with `"test": true`, sent now to the saved endpoint, whether
    or not it receives events (the answer says whether it does, and why not). The URL is checked again
    like every delivery, and only the status and duration come back (never the response body), so this
    cannot probe internal hosts."""
    endpoint = get_endpoint(principal, endpoint_id, endpoints=endpoints)
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
        target = check_webhook_url(endpoint.url, resolver, allow_private=allow_private_targets)
    except UnsafeUrl as exc:
        return TestResult(False, None, 0.0, str(exc), reason is None, reason)
    # Signed and dressed exactly like a delivery (the envelope as is: a test shows its "test" flag).
    job = DeliveryJob(sortable_id("msg"), principal.account_id, endpoint.endpoint_id, envelope)
    headers = request_headers(job, endpoint, body, cipher, now)
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
