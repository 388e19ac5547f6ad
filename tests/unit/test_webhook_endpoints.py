"""Endpoint management with in-memory ports: secrets shown once, limits, validation, rotation."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from leadhub.accounts.accounts import create_account
from leadhub.accounts.models import ALL_SCOPES, Plan, Principal
from leadhub.outbound import endpoints
from leadhub.outbound.models import Verification, VerificationMode, WebhookEndpoint
from leadhub.platform.errors import Forbidden, InvalidRequest, NotFound
from tests.fakes import ContextBoundCipher, EndpointPorts, InMemoryAccounts, InMemoryEndpoints, StaticResolver

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PUBLIC = {"crm.example.com": ["93.184.215.14"], "other.example.com": ["93.184.215.15"]}


class RecordingVerifier:
    def __init__(self, verified: bool = True) -> None:
        self.verified = verified
        self.calls: list[tuple[str, list[str]]] = []
        self.modes: list[VerificationMode] = []
        self.headers: list[dict[str, str]] = []

    def __call__(
        self, endpoint: WebhookEndpoint, secrets: Sequence[str], headers: Mapping[str, str]
    ) -> endpoints.VerificationResult:
        self.calls.append((endpoint.url, list(secrets)))
        self.headers.append(dict(headers))
        self.modes.append(endpoint.verification_mode)
        if self.verified:
            return endpoints.VerificationResult(True)
        return endpoints.VerificationResult(False, "the endpoint answered HTTP 500; expected 2xx")


@pytest.fixture
def accounts() -> InMemoryAccounts:
    return InMemoryAccounts()


@pytest.fixture
def verifier() -> RecordingVerifier:
    return RecordingVerifier()


@pytest.fixture
def ctx(accounts: InMemoryAccounts, verifier: RecordingVerifier) -> EndpointPorts:
    return EndpointPorts(
        endpoints=InMemoryEndpoints(),
        accounts=accounts,
        cipher=ContextBoundCipher(),
        resolver=StaticResolver(PUBLIC),
        verifier=verifier,
    )


def principal_of(accounts: InMemoryAccounts, plan: Plan = Plan.PRO, parent: str | None = None) -> Principal:
    created = create_account(
        "Acme", plan, "US", parent, accounts=accounts, cipher=ContextBoundCipher(), now=NOW
    )
    scopes = frozenset(str(s) for s in ALL_SCOPES)
    return Principal(created.view.account.account_id, "key_1", scopes)


def draft(**fields) -> endpoints.EndpointChanges:
    return endpoints.EndpointChanges(**{"name": "CRM", "url": "https://crm.example.com/hooks", **fields})


def test_create_returns_the_secret_once_and_stores_it_encrypted(accounts, ctx, verifier) -> None:
    caller = principal_of(accounts)
    endpoint, secret = endpoints.create_endpoint(caller, draft(), NOW, **ctx.managing())
    assert secret.startswith("whsec_")
    assert endpoint.verification is Verification.VERIFIED and endpoint.active
    assert verifier.calls == [("https://crm.example.com/hooks", [secret])]
    stored = ctx.endpoints.get(caller.account_id, endpoint.endpoint_id)
    assert secret.encode() not in stored.secrets[0].ciphertext
    assert endpoints.signing_secrets(stored, ctx.cipher, NOW) == [secret]
    assert secret not in str(endpoint.to_public()) and "whsec_" not in str(endpoint.to_public())
    assert [a.action for a in ctx.endpoints.audit] == ["webhook_endpoint.created"]


def test_a_failed_handshake_saves_the_endpoint_unverified(accounts, ctx, verifier) -> None:
    verifier.verified = False
    endpoint, _ = endpoints.create_endpoint(principal_of(accounts), draft(), NOW, **ctx.managing())
    assert endpoint.verification is Verification.FAILED and not endpoint.active
    assert endpoint.to_public()["verification"]["error"] == "the endpoint answered HTTP 500; expected 2xx"


@pytest.mark.parametrize(("plan", "limit"), [(Plan.FREE, 1), (Plan.STARTER, 3), (Plan.PRO, 10)])
def test_plan_limits_are_403_with_a_clear_message(accounts, ctx, verifier, plan: Plan, limit: int) -> None:
    caller = principal_of(accounts, plan)
    for _ in range(limit):
        endpoints.create_endpoint(caller, draft(), NOW, **ctx.managing())
    with pytest.raises(Forbidden, match=f"The {plan} plan allows {limit} webhook endpoint"):
        endpoints.create_endpoint(caller, draft(), NOW, **ctx.managing())
    assert len(verifier.calls) == limit  # no handshake for the refused one


def test_an_invalid_create_sends_no_handshake(accounts, ctx, verifier) -> None:
    with pytest.raises(InvalidRequest):
        endpoints.create_endpoint(
            principal_of(accounts), draft(events=["lead.deleted"]), NOW, **ctx.managing()
        )
    with pytest.raises(InvalidRequest):
        endpoints.create_endpoint(principal_of(accounts), draft(secret="whsec_short"), NOW, **ctx.managing())
    assert verifier.calls == []


def test_new_endpoints_ping_unless_asked_to_echo(accounts, ctx, verifier) -> None:
    caller = principal_of(accounts)
    pinging, _ = endpoints.create_endpoint(caller, draft(), NOW, **ctx.managing())
    echoing, _ = endpoints.create_endpoint(
        caller, draft(verification_mode=VerificationMode.ECHO), NOW, **ctx.managing()
    )
    assert (pinging.verification_mode, echoing.verification_mode) == (
        VerificationMode.PING,
        VerificationMode.ECHO,
    )
    assert verifier.modes == [VerificationMode.PING, VerificationMode.ECHO]  # each verified in its mode
    assert pinging.to_public()["verification"]["mode"] == "ping"
    assert ctx.endpoints.get(caller.account_id, pinging.endpoint_id) == pinging


def test_the_endpoint_is_stored_pending_before_its_handshake(accounts, ctx) -> None:
    seen: list[WebhookEndpoint | None] = []

    def verifier(
        endpoint: WebhookEndpoint, secrets: Sequence[str], headers: Mapping[str, str]
    ) -> endpoints.VerificationResult:
        seen.append(ctx.endpoints.get(endpoint.account_id, endpoint.endpoint_id))
        return endpoints.VerificationResult(True)

    created, _ = endpoints.create_endpoint(
        principal_of(accounts), draft(), NOW, **replace(ctx, verifier=verifier).managing()
    )
    [stored] = seen
    assert stored is not None and stored.verification is Verification.PENDING and not stored.active
    assert created.verification is Verification.VERIFIED and created.version == stored.version + 1


def test_an_own_secret_signs_from_the_first_handshake(accounts, ctx, verifier) -> None:
    own = "whsec_" + base64.b64encode(bytes(range(100, 132))).decode()
    endpoint, secret = endpoints.create_endpoint(
        principal_of(accounts), draft(secret=own), NOW, **ctx.managing()
    )
    assert secret == own and verifier.calls == [("https://crm.example.com/hooks", [own])]
    assert endpoints.signing_secrets(endpoint, ctx.cipher, NOW) == [own]


def set_mode(caller: Principal, endpoint_id: str, mode: VerificationMode, ctx) -> WebhookEndpoint:
    return endpoints.update_endpoint(
        caller, endpoint_id, endpoints.EndpointChanges(verification_mode=mode), NOW, **ctx.managing()
    )


def test_changing_the_mode_verifies_again_in_the_new_mode(accounts, ctx, verifier) -> None:
    caller = principal_of(accounts)
    created, _ = endpoints.create_endpoint(caller, draft(), NOW, **ctx.managing())
    verifier.verified = False

    same = set_mode(caller, created.endpoint_id, VerificationMode.PING, ctx)
    assert same.active and len(verifier.calls) == 1  # not a change: no handshake
    echo = set_mode(caller, created.endpoint_id, VerificationMode.ECHO, ctx)
    assert verifier.modes == [VerificationMode.PING, VerificationMode.ECHO]
    assert echo.verification is Verification.FAILED and not echo.active
    assert echo.inactive_reason == "endpoint not verified"


def test_rotating_to_an_own_secret(accounts, ctx) -> None:
    caller = principal_of(accounts)
    created, old = endpoints.create_endpoint(caller, draft(), NOW, **ctx.managing())
    own = "whsec_" + base64.b64encode(bytes(range(200, 240))).decode()
    rotated, secret = endpoints.rotate_secret(
        caller,
        created.endpoint_id,
        NOW,
        own,
        endpoints=ctx.endpoints,
        cipher=ctx.cipher,
        secret_overlap=ctx.secret_overlap,
    )
    assert secret == own
    assert endpoints.signing_secrets(rotated, ctx.cipher, NOW) == [own, old]
    for reused in (own, old):
        with pytest.raises(InvalidRequest) as caught:
            endpoints.rotate_secret(
                caller,
                created.endpoint_id,
                NOW,
                reused,
                endpoints=ctx.endpoints,
                cipher=ctx.cipher,
                secret_overlap=ctx.secret_overlap,
            )
        assert caught.value.details[0].field == "secret"
    with pytest.raises(InvalidRequest, match="Invalid secret"):
        endpoints.rotate_secret(
            caller,
            created.endpoint_id,
            NOW,
            "whsec_AAAA",
            endpoints=ctx.endpoints,
            cipher=ctx.cipher,
            secret_overlap=ctx.secret_overlap,
        )


def test_business_accounts_are_unlimited(accounts, ctx) -> None:
    caller = principal_of(accounts, Plan.BUSINESS)
    for _ in range(12):
        endpoints.create_endpoint(caller, draft(), NOW, **ctx.managing())
    assert len(endpoints.list_endpoints(caller, endpoints=ctx.endpoints)) == 12


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"url": "http://crm.example.com/hooks"}, "url", "https"),
        ({"url": "https://127.0.0.1/hooks"}, "url", "loopback"),
        ({"url": "https://nowhere.example.com/"}, "url", "resolve"),
        ({"events": ["lead.created", "lead.deleted"]}, "events", "unknown: lead.deleted"),
        ({"payload_template": "{not json"}, "payloadTemplate", "JSON"),
        ({"headers": {"X-Leadhub-Signature": "x"}}, "headers.X-Leadhub-Signature", "reserved"),
        ({"headers": {"Content-Type": "text/plain"}}, "headers.Content-Type", "reserved"),
        ({"headers": {"Host": "evil"}}, "headers.Host", "reserved"),
        ({"headers": {"X-Amz-Date": "x"}}, "headers.X-Amz-Date", "reserved"),
        ({"headers": {"Bad Name": "x"}}, "headers.Bad Name", "valid header name"),
        ({"headers": {"X-Token": "a\r\nInjected: 1"}}, "headers.X-Token", "one line of printable"),
        # Sent as Latin-1: anything else could never be sent (UnicodeEncodeError at every delivery).
        ({"headers": {"X-Token": "Bearer тест"}}, "headers.X-Token", "ASCII or Latin-1"),
        ({"headers": {"X-Token": "a\x01b"}}, "headers.X-Token", "one line of printable"),
        ({"headers": {"X-Token": "a\x7fb"}}, "headers.X-Token", "one line of printable"),
        ({"headers": {"X-Token": "a\x85b"}}, "headers.X-Token", "one line of printable"),
        ({"headers": {"X-Token\n": "x"}}, "headers.X-Token\n", "valid header name"),
        ({"headers": {"X-Tökén": "x"}}, "headers.X-Tökén", "valid header name"),
        ({"headers": {"X-\ud800": "x"}}, "headers.X-\\ud800", "valid header name"),
        ({"account_filter": ["acc_unknown"]}, "accountFilter", "not a managed account"),
    ],
)
def test_invalid_settings_are_400_and_nothing_is_stored(accounts, ctx, fields, field, message) -> None:
    caller = principal_of(accounts)
    with pytest.raises(InvalidRequest) as caught:
        endpoints.create_endpoint(caller, draft(**fields), NOW, **ctx.managing())
    assert any(d.field == field and message in d.message for d in caught.value.details), caught.value.details
    assert endpoints.list_endpoints(caller, endpoints=ctx.endpoints) == []


def test_agencies_may_filter_by_their_own_managed_accounts_only(accounts, ctx) -> None:
    agency = principal_of(accounts)
    client = principal_of(accounts, parent=agency.account_id)
    stranger = principal_of(accounts)
    endpoint, _ = endpoints.create_endpoint(
        agency, draft(account_filter=[client.account_id]), NOW, **ctx.managing()
    )
    assert endpoint.covers_account(agency.account_id) and endpoint.covers_account(client.account_id)
    assert not endpoint.covers_account(stranger.account_id)
    with pytest.raises(InvalidRequest, match="Invalid account filter"):
        endpoints.create_endpoint(agency, draft(account_filter=[stranger.account_id]), NOW, **ctx.managing())


def test_latin_1_header_values_are_kept(accounts, ctx) -> None:
    headers = {"X-Crm-Owner": "Zoë Müller", "X-Tabbed": "a\tb"}
    endpoint, _ = endpoints.create_endpoint(
        principal_of(accounts), draft(headers=headers), NOW, **ctx.managing()
    )
    assert endpoints.custom_headers(endpoint, ctx.cipher) == headers


def test_custom_headers_are_encrypted_and_redacted(accounts, ctx, verifier) -> None:
    endpoint, _ = endpoints.create_endpoint(
        principal_of(accounts), draft(headers={"Authorization": "Bearer crm-secret"}), NOW, **ctx.managing()
    )
    assert verifier.headers == [
        {"Authorization": "Bearer crm-secret"}
    ]  # the handshake carries them, decrypted
    assert endpoint.to_public()["headers"] == {"Authorization": "***"}
    assert b"crm-secret" not in endpoint.headers_ciphertext
    assert endpoints.custom_headers(endpoint, ctx.cipher) == {"Authorization": "Bearer crm-secret"}


def test_disabling_keeps_everything_and_enabling_resumes(accounts, ctx, verifier) -> None:
    caller = principal_of(accounts)
    created, secret = endpoints.create_endpoint(caller, draft(headers={"X-Crm": "1"}), NOW, **ctx.managing())
    off = endpoints.update_endpoint(
        caller, created.endpoint_id, endpoints.EndpointChanges(enabled=False), NOW, **ctx.managing()
    )
    assert not off.active and off.url == created.url and off.header_names == ("X-Crm",)
    on = endpoints.update_endpoint(
        caller, created.endpoint_id, endpoints.EndpointChanges(enabled=True), NOW, **ctx.managing()
    )
    assert on.active and endpoints.signing_secrets(on, ctx.cipher, NOW) == [secret]
    assert len(verifier.calls) == 1  # no re-verification without a new URL


def test_a_new_url_is_checked_and_verified_again(accounts, ctx, verifier) -> None:
    caller = principal_of(accounts)
    created, _ = endpoints.create_endpoint(caller, draft(), NOW, **ctx.managing())
    verifier.verified = False
    moved = endpoints.update_endpoint(
        caller,
        created.endpoint_id,
        endpoints.EndpointChanges(url="https://other.example.com/in"),
        NOW,
        **ctx.managing(),
    )
    assert moved.url == "https://other.example.com/in" and moved.verification is Verification.FAILED
    with pytest.raises(InvalidRequest):
        endpoints.update_endpoint(
            caller,
            created.endpoint_id,
            endpoints.EndpointChanges(url="https://10.0.0.1/"),
            NOW,
            **ctx.managing(),
        )


def test_rotation_signs_with_both_secrets_during_the_overlap(accounts, ctx) -> None:
    caller = principal_of(accounts)
    created, old = endpoints.create_endpoint(caller, draft(), NOW, **ctx.managing())
    rotated, new = endpoints.rotate_secret(
        caller,
        created.endpoint_id,
        NOW,
        endpoints=ctx.endpoints,
        cipher=ctx.cipher,
        secret_overlap=ctx.secret_overlap,
    )
    assert new != old
    assert endpoints.signing_secrets(rotated, ctx.cipher, NOW + timedelta(hours=23)) == [new, old]
    assert endpoints.signing_secrets(rotated, ctx.cipher, NOW + timedelta(hours=24)) == [new]
    again, newest = endpoints.rotate_secret(
        caller,
        created.endpoint_id,
        NOW + timedelta(hours=1),
        endpoints=ctx.endpoints,
        cipher=ctx.cipher,
        secret_overlap=ctx.secret_overlap,
    )
    assert endpoints.signing_secrets(again, ctx.cipher, NOW + timedelta(hours=2)) == [newest, new]


def test_other_accounts_endpoints_are_404(accounts, ctx) -> None:
    owner, other = principal_of(accounts), principal_of(accounts)
    created, _ = endpoints.create_endpoint(owner, draft(), NOW, **ctx.managing())
    for action in (
        lambda: endpoints.get_endpoint(other, created.endpoint_id, endpoints=ctx.endpoints),
        lambda: endpoints.update_endpoint(
            other, created.endpoint_id, endpoints.EndpointChanges(name="x"), NOW, **ctx.managing()
        ),
        lambda: endpoints.rotate_secret(
            other,
            created.endpoint_id,
            NOW,
            endpoints=ctx.endpoints,
            cipher=ctx.cipher,
            secret_overlap=ctx.secret_overlap,
        ),
        lambda: endpoints.verify_endpoint(
            other, created.endpoint_id, NOW, endpoints=ctx.endpoints, cipher=ctx.cipher, verifier=ctx.verifier
        ),
        lambda: endpoints.delete_endpoint(other, created.endpoint_id, NOW, endpoints=ctx.endpoints),
    ):
        with pytest.raises(NotFound):
            action()
    assert endpoints.list_endpoints(other, endpoints=ctx.endpoints) == []
    assert endpoints.get_endpoint(owner, created.endpoint_id, endpoints=ctx.endpoints) == created


def test_a_concurrent_change_is_not_overwritten(accounts, ctx) -> None:
    caller = principal_of(accounts)
    created, _ = endpoints.create_endpoint(caller, draft(), NOW, **ctx.managing())
    key = (caller.account_id, created.endpoint_id)
    ctx.endpoints.endpoints[key] = replace(created, version=created.version + 1)  # someone else saved
    with pytest.raises(InvalidRequest, match="changed meanwhile"):
        endpoints.rotate_secret(
            caller,
            created.endpoint_id,
            NOW,
            endpoints=_Stale(ctx.endpoints, created),  # type: ignore[arg-type]
            cipher=ctx.cipher,
            secret_overlap=ctx.secret_overlap,
        )


class _Stale:
    """Reads return the version the caller saw; writes go to the real fake (where it is outdated)."""

    def __init__(self, inner: InMemoryEndpoints, seen: WebhookEndpoint) -> None:
        self._inner, self._seen = inner, seen

    def get(self, account_id: str, endpoint_id: str) -> WebhookEndpoint:
        return self._seen

    def replace(self, endpoint: WebhookEndpoint, expected_version: int) -> bool:
        return self._inner.replace(endpoint, expected_version)

    def add_audit(self, audit) -> None:
        self._inner.add_audit(audit)
