"""The verification handshake: an endpoint shows it wants our deliveries before it gets any.

On create, on verify, and when its URL or mode changes, we POST `{"event": "webhook.verify",
"verifyToken", "timestamp", "text"}`, signed like every delivery. In `ping` mode any 2xx within 10 s
verifies the endpoint (as GitHub's ping); in `echo` mode the 2xx must also echo the token, as
`{"verifyToken": <token>}` or the bare token as text. Anything else leaves it unverified, and it
receives nothing until a verify succeeds; the error says what to change. The handshake carries the
endpoint's custom headers, as deliveries do: a receiver that requires its auth header refuses anything
without it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime

from leadhub.outbound.delivery_request import signed_headers
from leadhub.outbound.endpoints import VerificationResult, Verifier
from leadhub.outbound.models import VerificationMode, WebhookEndpoint
from leadhub.outbound.ports import HttpPost, Resolver
from leadhub.outbound.url_safety import UnsafeUrl, check_webhook_url
from leadhub.platform.ids import sortable_id
from leadhub.platform.timestamps import to_iso, utc_now

VERIFY_EVENT = "webhook.verify"
VERIFY_TIMEOUT_S = 10.0
# Chat webhooks (Slack, Mattermost, Teams) answer 400 to a message without `text`: with it, they post
# this line and answer 2xx, which is what verifies them in ping mode.
VERIFY_TEXT = "Leadhub is verifying this webhook endpoint; events will follow."
# A receiver that checks signatures refuses a handshake signed with a secret it does not have yet.
SIGNATURE_HINT = (
    ". If the receiver checks signatures, give it the endpoint's secret and POST …/verify "
    "(or supply your own secret when you create the endpoint)"
)


def echoed_token(body: bytes) -> str | None:
    text = body.decode("utf-8", "replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        return text or None
    token = parsed.get("verifyToken") if isinstance(parsed, dict) else parsed
    return token if isinstance(token, str) else None


def verify(
    endpoint: WebhookEndpoint,
    signing_secrets: Sequence[str],
    custom_headers: Mapping[str, str],
    *,
    resolver: Resolver,
    http: HttpPost,
    allow_private: bool,
    now: datetime,
) -> VerificationResult:
    token = secrets.token_urlsafe(24)
    body = json.dumps(
        {"event": VERIFY_EVENT, "verifyToken": token, "timestamp": to_iso(now), "text": VERIFY_TEXT}
    ).encode()
    try:
        target = check_webhook_url(endpoint.url, resolver, allow_private=allow_private)
    except UnsafeUrl as exc:
        return VerificationResult(False, str(exc))
    headers = signed_headers(signing_secrets, custom_headers, sortable_id("msg"), VERIFY_EVENT, body, now)
    outcome = http.post(target, body, headers, VERIFY_TIMEOUT_S)
    if outcome.status is None:
        return VerificationResult(False, f"the request failed ({outcome.error_class or 'error'})")
    if not 200 <= outcome.status < 300:
        hint = SIGNATURE_HINT if outcome.status in (401, 403) else ""
        return VerificationResult(False, f"the endpoint answered HTTP {outcome.status}; expected 2xx{hint}")
    if endpoint.verification_mode is VerificationMode.ECHO and echoed_token(outcome.body_snippet) != token:
        return VerificationResult(
            False,
            f"the endpoint answered HTTP {outcome.status} but did not echo the verifyToken: answer "
            '{"verifyToken": …} with it, or set verification "ping" if the receiver cannot echo '
            "(any 2xx verifies it then)",
        )
    return VerificationResult(True)


def handshake_verifier(resolver: Resolver, http: HttpPost, *, allow_private: bool) -> Verifier:
    def run(
        endpoint: WebhookEndpoint, signing_secrets: Sequence[str], custom_headers: Mapping[str, str]
    ) -> VerificationResult:
        return verify(
            endpoint,
            signing_secrets,
            custom_headers,
            resolver=resolver,
            http=http,
            allow_private=allow_private,
            now=utc_now(),
        )

    return run
