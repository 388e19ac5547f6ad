"""Dashboard sign-in: sessions from an API key or a one-time link, their lifetimes, sign-out, the failed
sign-in limit and CSRF checks, with in-memory ports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadhub.accounts.accounts import create_account
from leadhub.accounts.api_keys import create_api_key, revoke_api_key
from leadhub.accounts.models import ALL_SCOPES, Plan, Principal
from leadhub.dashboard.csrf import (
    CsrfRejected,
    check_csrf_token,
    check_same_origin,
    new_sign_in_csrf_token,
    session_csrf_token,
)
from leadhub.dashboard.links import (
    LINK_LIFETIME,
    LinkRefused,
    LinkState,
    inspect_sign_in_link,
    mint_sign_in_link,
    sign_in_with_link,
)
from leadhub.dashboard.models import ABSOLUTE_LIFETIME, IDLE_LIFETIME
from leadhub.dashboard.sessions import (
    SignInRequired,
    current_session,
    sign_in_with_key,
    sign_out,
)
from leadhub.dashboard.sign_in_limit import MAX_FAILURES, WINDOW_SECONDS
from leadhub.platform.errors import InvalidRequest, TooManyRequests
from leadhub.platform.ids import token_hash
from tests.fakes import (
    ContextBoundCipher,
    InMemoryAccounts,
    InMemoryFailedSignIns,
    InMemorySessions,
    InMemorySignInLinks,
)

NOW = datetime(2026, 11, 23, 9, 0, 30, tzinfo=UTC)
IP = "203.0.113.7"


class World:
    def __init__(self) -> None:
        self.accounts = InMemoryAccounts()
        self.sessions = InMemorySessions(self.accounts)
        self.links = InMemorySignInLinks(self.sessions)
        self.failures = InMemoryFailedSignIns()
        created = create_account(
            "Agency", Plan.PRO, "US", None, accounts=self.accounts, cipher=ContextBoundCipher(), now=NOW
        )
        self.account_id = created.view.account.account_id
        self.key = created.api_key
        self.principal = Principal(self.account_id, "key_admin", frozenset(str(s) for s in ALL_SCOPES))

    def sign_in(self, key: str | None = None, ip: str = IP, now: datetime = NOW):
        return sign_in_with_key(
            key if key is not None else self.key,
            ip,
            accounts=self.accounts,
            sessions=self.sessions,
            failures=self.failures,
            now=now,
        )

    def mint(self, scopes: list[str] | None = None, account_id: str | None = None, now: datetime = NOW):
        return mint_sign_in_link(
            self.principal, scopes, account_id, accounts=self.accounts, links=self.links, now=now
        )

    def use(self, token: str, now: datetime = NOW, ip: str = IP):
        return sign_in_with_link(
            token, ip, links=self.links, sessions=self.sessions, failures=self.failures, now=now
        )

    def managed_account(self, parent: str | None) -> str:
        created = create_account(
            "Client", Plan.PRO, "US", parent, accounts=self.accounts, cipher=ContextBoundCipher(), now=NOW
        )
        return created.view.account.account_id


@pytest.fixture
def world() -> World:
    return World()


# -- API key sessions ---------------------------------------------------------------------------


def test_a_key_opens_a_session_with_its_account_and_scopes_stored_only_as_a_hash(world: World) -> None:
    opened = world.sign_in()

    session = opened.session
    assert (session.account_id, session.scopes) == (world.account_id, frozenset(str(s) for s in ALL_SCOPES))
    assert session.session_hash == token_hash(opened.token) != opened.token
    assert set(world.sessions.sessions) == {token_hash(opened.token)}
    assert len(opened.token.encode()) * 6 // 8 >= 32  # at least 128 random bits (256 here)
    assert current_session(opened.token, sessions=world.sessions, now=NOW) == session
    entry = world.accounts.audit[-1]
    assert (entry.action, entry.source, entry.actor) == ("dashboard.signed_in", "dashboard", session.key_id)


def test_the_principal_of_a_session_records_its_changes_as_made_in_the_dashboard(world: World) -> None:
    principal = world.sign_in().session.principal()
    create_api_key(principal, "from the dashboard", ["leads:read"], accounts=world.accounts, now=NOW)

    assert world.accounts.audit[-1].source == "dashboard"


@pytest.mark.parametrize(("entered", "message"), [("", "Field required"), ("lhk_wrong", "Invalid API key")])
def test_a_missing_or_wrong_key_is_a_field_error_in_the_apis_words(
    world: World, entered: str, message: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        world.sign_in(entered)

    assert [(d.field, d.message) for d in refused.value.details] == [("apiKey", message)]
    assert world.sessions.sessions == {}


def test_failed_sign_ins_from_one_address_are_limited_then_allowed_again(world: World) -> None:
    for _ in range(MAX_FAILURES):
        with pytest.raises(InvalidRequest):
            world.sign_in("lhk_wrong")

    with pytest.raises(TooManyRequests) as limited:
        world.sign_in()  # even the right key, until the window ends
    assert 0 < limited.value.retry_after <= WINDOW_SECONDS
    assert world.sign_in(ip="198.51.100.9").session  # another address is not limited
    later = NOW + timedelta(seconds=limited.value.retry_after)
    assert world.sign_in(now=later).session
    assert all(IP not in source for source, _ in world.failures.windows)  # addresses stored hashed


# -- lifetimes ----------------------------------------------------------------------------------


def test_a_session_ends_after_12_idle_hours(world: World) -> None:
    token = world.sign_in().token

    assert current_session(token, sessions=world.sessions, now=NOW + IDLE_LIFETIME - timedelta(seconds=1))
    with pytest.raises(SignInRequired):
        current_session(token, sessions=world.sessions, now=NOW + IDLE_LIFETIME + IDLE_LIFETIME)


def test_activity_keeps_a_session_for_7_days_at_most(world: World) -> None:
    token = world.sign_in().token
    moment = NOW
    while moment < NOW + ABSOLUTE_LIFETIME - timedelta(hours=11):
        moment += timedelta(hours=11)
        current_session(token, sessions=world.sessions, now=moment)

    with pytest.raises(SignInRequired):
        current_session(token, sessions=world.sessions, now=NOW + ABSOLUTE_LIFETIME)


def test_activity_is_written_at_most_once_a_minute(world: World) -> None:
    token = world.sign_in().token
    for seconds in range(0, 120, 5):
        current_session(token, sessions=world.sessions, now=NOW + timedelta(seconds=seconds))

    assert world.sessions.touches == 1  # at +60 s; the other 23 requests wrote nothing


def test_revoking_the_key_ends_its_sessions_within_a_minute(world: World) -> None:
    opened = world.sign_in()
    revoke_api_key(world.principal, opened.session.key_id or "", accounts=world.accounts, now=NOW)

    with pytest.raises(SignInRequired):
        current_session(opened.token, sessions=world.sessions, now=NOW + timedelta(minutes=1))


def test_sign_out_ends_the_session_server_side(world: World) -> None:
    opened = world.sign_in()
    sign_out(opened.session, sessions=world.sessions, now=NOW)

    with pytest.raises(SignInRequired):
        current_session(opened.token, sessions=world.sessions, now=NOW)
    assert world.accounts.audit[-1].action == "dashboard.signed_out"


@given(st.one_of(st.none(), st.text(max_size=80), st.from_regex(r"lhs_[A-Za-z0-9_-]{43}", fullmatch=True)))
def test_any_cookie_value_but_a_live_sessions_token_means_sign_in(token: str | None) -> None:
    with pytest.raises(SignInRequired):
        current_session(token, sessions=InMemorySessions(InMemoryAccounts()), now=NOW)


# -- one-time links -----------------------------------------------------------------------------


def test_a_link_opens_a_session_once(world: World) -> None:
    minted = world.mint(["leads:read"])
    assert minted.url("https://api.example.com/").startswith("https://api.example.com/login/link/lhl_")
    assert inspect_sign_in_link(minted.token, links=world.links, now=NOW) is LinkState.USABLE

    opened = world.use(minted.token)

    assert (opened.session.account_id, opened.session.scopes) == (world.account_id, frozenset({"leads:read"}))
    assert opened.session.actor == minted.link.link_id
    assert inspect_sign_in_link(minted.token, links=world.links, now=NOW) is LinkState.USED
    with pytest.raises(LinkRefused) as again:
        world.use(minted.token)
    assert again.value.state is LinkState.USED


def test_a_link_expires_after_15_minutes_and_opening_it_uses_nothing(world: World) -> None:
    minted = world.mint()
    for _ in range(3):  # e-mail scanners fetch links
        inspect_sign_in_link(minted.token, links=world.links, now=NOW)

    with pytest.raises(LinkRefused) as late:
        world.use(minted.token, now=NOW + LINK_LIFETIME)
    assert late.value.state is LinkState.EXPIRED
    assert "expired" in late.value.details[0].message


@given(st.text(max_size=80))
def test_anything_else_is_not_a_link(token: str) -> None:
    world = World()
    assert inspect_sign_in_link(token, links=world.links, now=NOW) is LinkState.UNKNOWN
    with pytest.raises(LinkRefused):
        world.use(token)


def test_a_link_grants_the_callers_scopes_at_most(world: World) -> None:
    assert world.mint().link.scopes == tuple(sorted(world.principal.scopes))
    reader = Principal(world.account_id, "key_reader", frozenset({"leads:read"}))
    with pytest.raises(InvalidRequest) as refused:
        mint_sign_in_link(
            reader,
            ["leads:read", "account:manage"],
            None,
            accounts=world.accounts,
            links=world.links,
            now=NOW,
        )
    assert [(d.field, d.message) for d in refused.value.details] == [
        ("scopes", "you cannot grant account:manage")
    ]


def test_an_agency_mints_links_to_its_managed_accounts_only(world: World) -> None:
    managed = world.managed_account(world.account_id)
    stranger = world.managed_account(None)

    opened = world.use(world.mint(["leads:read"], managed).token)

    assert opened.session.account_id == managed
    for other in (stranger, "acc_missing"):
        with pytest.raises(InvalidRequest) as refused:
            world.mint(None, other)
        assert refused.value.details[0].message == f"{other} is not a managed account of this account"
    logged = {(e.account_id, e.action) for e in world.accounts.audit}
    assert {(managed, "dashboard_link.created"), (world.account_id, "dashboard_link.created")} <= logged


# -- CSRF ---------------------------------------------------------------------------------------


def test_each_session_has_its_own_csrf_token_and_a_wrong_one_is_refused(world: World) -> None:
    first, second = world.sign_in().token, world.sign_in().token
    token = session_csrf_token(first)

    assert token == session_csrf_token(first) != session_csrf_token(second)
    check_csrf_token(token, token)
    for presented in (None, "", session_csrf_token(second), new_sign_in_csrf_token()):
        with pytest.raises(CsrfRejected):
            check_csrf_token(token, presented)
    with pytest.raises(CsrfRejected):
        check_csrf_token(None, token)


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"host": "leadhub.example"}, True),  # no such headers (an older browser, curl): the token decides
        ({"host": "leadhub.example", "sec-fetch-site": "same-origin"}, True),
        ({"host": "leadhub.example", "origin": "https://leadhub.example"}, True),
        ({"host": "leadhub.example", "sec-fetch-site": "cross-site"}, False),
        ({"host": "leadhub.example", "sec-fetch-site": "same-site"}, False),
        ({"host": "leadhub.example", "origin": "https://evil.example"}, False),
        ({"host": "leadhub.example", "origin": "null"}, False),
    ],
)
def test_a_change_must_come_from_this_sites_own_pages(headers: dict[str, str], allowed: bool) -> None:
    if allowed:
        check_same_origin(headers)
    else:
        with pytest.raises(CsrfRejected):
            check_same_origin(headers)
