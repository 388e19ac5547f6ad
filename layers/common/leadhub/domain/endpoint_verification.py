"""The verification handshake: an endpoint proves it wants our deliveries by echoing a token.

On create and on verify we POST `{"event": "webhook.verify", "verifyToken", "timestamp"}`, signed like
every delivery. A 2xx within 10 s whose body is `{"verifyToken": <token>}` (or the bare token as text)
verifies the endpoint; anything else leaves it unverified, and it receives nothing until a verify
succeeds.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import datetime

from leadhub.domain.signing import signature_headers
from leadhub.domain.url_safety import HttpPost, Resolver, UnsafeUrl, check_webhook_url
from leadhub.domain.webhook_endpoints import VerificationResult, Verifier
from leadhub.ids import sortable_id
from leadhub.models.webhook_endpoint import WebhookEndpoint
from leadhub.timestamps import to_iso, utc_now

VERIFY_EVENT = "webhook.verify"
VERIFY_TIMEOUT_S = 10.0


def echoed_token(body: bytes) -> str | None:
    text = body.decode("utf-8", "replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        return text or None
    if isinstance(parsed, dict) and isinstance(parsed.get("verifyToken"), str):
        return parsed["verifyToken"]
    return parsed if isinstance(parsed, str) else None


def verify(
    endpoint: WebhookEndpoint,
    signing_secrets: Sequence[str],
    *,
    resolver: Resolver,
    http: HttpPost,
    allow_private: bool,
    now: datetime,
) -> VerificationResult:
    token = secrets.token_urlsafe(24)
    body = json.dumps({"event": VERIFY_EVENT, "verifyToken": token, "timestamp": to_iso(now)}).encode()
    try:
        target = check_webhook_url(endpoint.url, resolver, allow_private=allow_private)
    except UnsafeUrl as exc:
        return VerificationResult(False, str(exc))
    headers = {
        "Content-Type": "application/json",
        **signature_headers(signing_secrets, sortable_id("msg"), int(now.timestamp()), body, VERIFY_EVENT),
    }
    outcome = http.post(target, body, headers, VERIFY_TIMEOUT_S)
    if outcome.status is None:
        return VerificationResult(False, f"the request failed ({outcome.error_class or 'error'})")
    if not 200 <= outcome.status < 300:
        return VerificationResult(False, f"the endpoint answered HTTP {outcome.status}; expected 2xx")
    if echoed_token(outcome.body_snippet) != token:
        return VerificationResult(
            False, 'the response did not echo the verifyToken (answer {"verifyToken": …})'
        )
    return VerificationResult(True)


def handshake_verifier(resolver: Resolver, http: HttpPost, *, allow_private: bool) -> Verifier:
    def run(endpoint: WebhookEndpoint, signing_secrets: Sequence[str]) -> VerificationResult:
        return verify(
            endpoint,
            signing_secrets,
            resolver=resolver,
            http=http,
            allow_private=allow_private,
            now=utc_now(),
        )

    return run
