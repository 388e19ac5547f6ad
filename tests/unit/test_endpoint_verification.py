"""The verification handshake in its two modes, and what a test send says about an endpoint that
receives nothing, against a scripted HTTP port (no network)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadhub.accounts.accounts import create_account
from leadhub.accounts.models import ALL_SCOPES, Plan, Principal
from leadhub.outbound import endpoints, trial_delivery
from leadhub.outbound.endpoint_verification import echoed_token, verify
from leadhub.outbound.models import (
    DISABLED_THROUGH_API,
    Verification,
    VerificationMode,
    WebhookEndpoint,
)
from leadhub.outbound.ports import HttpOutcome, SafeTarget
from leadhub.outbound.signing import new_endpoint_secret
from leadhub.platform.standard_webhooks import verify_standard_signature
from tests.fakes import ContextBoundCipher, EndpointPorts, InMemoryAccounts, InMemoryEndpoints, StaticResolver

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
URL = "https://hooks.zapier.example.com/hooks/catch/1/abc"
RESOLVER = StaticResolver({"hooks.zapier.example.com": ["93.184.215.14"]})
SECRET = new_endpoint_secret()

# The body of a request -> the outcome the receiver produces.
Script = Callable[[bytes], HttpOutcome]


class ScriptedHttp:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[tuple[bytes, dict[str, str]]] = []

    def post(
        self, target: SafeTarget, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> HttpOutcome:
        self.requests.append((body, dict(headers)))
        return self.script(body)


def answer(status: int, body: bytes = b"") -> Script:
    return lambda _: HttpOutcome(status, body_snippet=body)


def echo_json(request: bytes) -> HttpOutcome:
    return HttpOutcome(
        200, body_snippet=json.dumps({"verifyToken": json.loads(request)["verifyToken"]}).encode()
    )


def echo_bare(request: bytes) -> HttpOutcome:
    return HttpOutcome(200, body_snippet=json.loads(request)["verifyToken"].encode())


CATCH_HOOK = answer(200, b'{"status": "success"}')


def endpoint(mode: VerificationMode) -> WebhookEndpoint:
    return WebhookEndpoint(
        account_id="acc_1",
        endpoint_id="wep_1",
        name="Zap",
        url=URL,
        secrets=(),
        created_at="2026-11-23T09:00:00.000Z",
        updated_at="2026-11-23T09:00:00.000Z",
        verification_mode=mode,
    )


def handshake(mode: VerificationMode, script: Script) -> tuple[endpoints.VerificationResult, ScriptedHttp]:
    http = ScriptedHttp(script)
    result = verify(endpoint(mode), [SECRET], {}, resolver=RESOLVER, http=http, allow_private=False, now=NOW)
    return result, http


@pytest.mark.parametrize("script", [CATCH_HOOK, answer(204), answer(202, b"queued"), echo_json])
def test_ping_is_verified_by_any_2xx(script: Script) -> None:
    result, http = handshake(VerificationMode.PING, script)
    assert result == endpoints.VerificationResult(True)
    [(body, headers)] = http.requests
    assert json.loads(body)["event"] == "webhook.verify"
    assert headers["X-Leadhub-Event"] == "webhook.verify"


@pytest.mark.parametrize("script", [echo_json, echo_bare])
def test_echo_is_verified_by_a_2xx_echoing_the_token(script: Script) -> None:
    assert handshake(VerificationMode.ECHO, script)[0].verified


def test_an_echo_handshake_answered_2xx_without_the_token_says_so_and_names_ping() -> None:
    result, _ = handshake(VerificationMode.ECHO, CATCH_HOOK)
    assert not result.verified
    assert result.error == (
        'the endpoint answered HTTP 200 but did not echo the verifyToken: answer {"verifyToken": …} with it, '
        'or set verification "ping" if the receiver cannot echo (any 2xx verifies it then)'
    )


@pytest.mark.parametrize("mode", list(VerificationMode))
@pytest.mark.parametrize(("status", "hint"), [(500, False), (404, False), (401, True), (403, True)])
def test_a_non_2xx_fails_in_both_modes_and_a_refused_signature_gets_a_hint(mode, status, hint) -> None:
    result, _ = handshake(mode, answer(status))
    assert not result.verified and result.error is not None
    assert result.error.startswith(f"the endpoint answered HTTP {status}; expected 2xx")
    assert ("give it the endpoint's secret and POST …/verify" in result.error) is hint


def test_the_handshake_is_signed_with_the_endpoints_secret() -> None:
    _, http = handshake(VerificationMode.PING, CATCH_HOOK)
    [(body, headers)] = http.requests
    assert verify_standard_signature(SECRET, headers, body, now=int(NOW.timestamp()))


def test_the_handshake_carries_the_custom_headers_but_never_over_ours() -> None:
    http = ScriptedHttp(CATCH_HOOK)
    custom = {"Authorization": "Bearer crm-key", "X-Leadhub-Event": "spoofed", "content-type": "text/plain"}
    result = verify(
        endpoint(VerificationMode.PING),
        [SECRET],
        custom,
        resolver=RESOLVER,
        http=http,
        allow_private=False,
        now=NOW,
    )
    assert result.verified
    [(_, headers)] = http.requests
    assert headers["Authorization"] == "Bearer crm-key"
    assert headers["X-Leadhub-Event"] == "webhook.verify" and headers["Content-Type"] == "application/json"
    assert "content-type" not in headers


def test_a_request_that_failed_is_not_verified_in_ping_mode() -> None:
    result, _ = handshake(VerificationMode.PING, lambda _: HttpOutcome(None, error_class="timeout"))
    assert result == endpoints.VerificationResult(False, "the request failed (timeout)")


@given(st.binary(max_size=300))
def test_reading_an_echo_never_fails_on_any_answer(body: bytes) -> None:
    token = echoed_token(body)
    assert token is None or isinstance(token, str)


# --- POST …/test says whether the endpoint receives events --------------------------------------------


def test_sending_a_test_says_whether_events_go_to_the_endpoint() -> None:
    accounts = InMemoryAccounts()
    created = create_account(
        "Acme", Plan.PRO, "US", None, accounts=accounts, cipher=ContextBoundCipher(), now=NOW
    )
    caller = Principal(created.view.account.account_id, "key_1", frozenset(str(s) for s in ALL_SCOPES))
    http = ScriptedHttp(CATCH_HOOK)

    def run_handshake(endpoint: WebhookEndpoint, secrets, headers) -> endpoints.VerificationResult:
        return verify(endpoint, secrets, headers, resolver=RESOLVER, http=http, allow_private=False, now=NOW)

    ctx = EndpointPorts(
        endpoints=InMemoryEndpoints(),
        accounts=accounts,
        cipher=ContextBoundCipher(),
        resolver=RESOLVER,
        verifier=run_handshake,
    )
    changes = endpoints.EndpointChanges(name="Zap", url=URL, verification_mode=VerificationMode.ECHO)
    echoing, _ = endpoints.create_endpoint(caller, changes, NOW, **ctx.managing())
    assert echoing.verification is Verification.FAILED

    def test(endpoint_id: str) -> trial_delivery.TestResult:
        return trial_delivery.send_test_event(
            caller,
            endpoint_id,
            NOW,
            endpoints=ctx.endpoints,
            cipher=ctx.cipher,
            resolver=ctx.resolver,
            allow_private_targets=False,
            http=http,
        )

    unverified = test(echoing.endpoint_id)
    assert (unverified.delivered, unverified.receives_events) == (True, False)
    assert unverified.reason == f"endpoint not verified (echo mode): {echoing.verification_error}"

    pinging = endpoints.update_endpoint(
        caller,
        echoing.endpoint_id,
        endpoints.EndpointChanges(verification_mode=VerificationMode.PING),
        NOW,
        **ctx.managing(),
    )
    receiving = test(pinging.endpoint_id)
    assert (receiving.delivered, receiving.receives_events, receiving.reason) == (True, True, None)

    disabled = replace(pinging, enabled=False, disabled_reason=DISABLED_THROUGH_API)
    ctx.endpoints.endpoints[(caller.account_id, pinging.endpoint_id)] = disabled
    paused = test(pinging.endpoint_id)
    assert (paused.receives_events, paused.reason) == (
        False,
        "endpoint disabled through the API; PATCH enabled: true resumes deliveries",
    )


def test_a_chat_webhook_that_needs_text_is_verified_by_ping() -> None:
    def slack(request: bytes) -> HttpOutcome:  # hooks.slack.com: 400 no_text without a text
        text = json.loads(request).get("text")
        return HttpOutcome(200, body_snippet=b"ok") if text else HttpOutcome(400, body_snippet=b"no_text")

    assert handshake(VerificationMode.PING, slack)[0].verified
