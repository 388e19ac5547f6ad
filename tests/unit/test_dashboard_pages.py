"""Dashboard pages without a server: every template renders, escapes what strangers wrote, stays within the
size budget and needs nothing inline (the CSP forbids it); assets are ours, hashed and small; the overview
shows what the session's scopes allow; the navigation follows the scopes."""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadhub.accounts.accounts import create_account
from leadhub.accounts.audit import AuditEntry
from leadhub.accounts.models import ALL_SCOPES, ApiKey, Plan, Principal, Scope
from leadhub.dashboard.assets import ASSETS_DIR, asset_url, find_asset, manifest
from leadhub.dashboard.http import CookieJar, read_form
from leadhub.dashboard.models import Session
from leadhub.dashboard.navigation import API_KEYS, AUDIT, OVERVIEW, SECTIONS, visible_sections
from leadhub.dashboard.overview import FAILED_DELIVERY_LOOKBACK, Overview, lead_webhook, overview
from leadhub.dashboard.rendering import TEMPLATES_DIR, render
from leadhub.dashboard.visit import Visit
from leadhub.leads.models import Lead
from leadhub.outbound.delivery_log import RECOVER_WINDOW
from leadhub.platform.errors import InvalidRequest, PayloadTooLarge
from leadhub.platform.paging import BoundedCount, Page
from tests.fakes import ContextBoundCipher, InMemoryAccounts, InMemoryEndpoints
from tests.unit.test_dashboard_webhooks import WEBHOOK_TEMPLATES, webhook_pages

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
NOW_ISO = "2026-11-23T09:00:00.000Z"
MAX_HTML_BYTES = 60 * 1024
MAX_ASSETS_GZIP_BYTES = 100 * 1024
SCRIPT = "<script>alert(1)</script>"
ALL = frozenset(str(s) for s in ALL_SCOPES)


def visit(scopes: frozenset[str] = ALL, section=OVERVIEW) -> Visit:
    session = Session(
        "hash",
        "acc_1",
        scopes,
        "key_1",
        "api_key",
        "2026-11-23T09:00:00.000Z",
        "2026-11-23T09:00:00.000Z",
        "key_1",
    )
    return Visit(session, "csrf-token-value", section)


def many_keys(name: str, count: int) -> list[ApiKey]:
    return [
        ApiKey("acc_1", f"key_{n}", name, tuple(sorted(ALL)), "lhk_abcd", "hash", "2026-11-23T09:00:00.000Z")
        for n in range(count)
    ]


def audit_page(actor: str, count: int) -> Page[AuditEntry]:
    entries = [
        AuditEntry("acc_1", "lead.created", "webhook", "2026-11-23T09:00:00.000Z", actor, {"leadId": actor})
        for _ in range(count)
    ]
    return Page(entries, "cursor-value")


def full_overview(name: str) -> Overview:
    return Overview(
        name,
        lead_webhook("https://api.example.com/api/webhooks/leads/lht_x"),
        BoundedCount(3),
        BoundedCount(500, complete=False),
        [
            Lead("acc_1", f"lead_{n}", NOW_ISO, NOW_ISO, NOW_ISO, name=name, phone="+14155552671")
            for n in range(5)
        ],
        BoundedCount(2),
        BoundedCount(0),
    )


def pages(text: str) -> dict[str, str]:
    """Every page the dashboard renders, with `text` wherever a stranger's (or a user's) words can appear,
    and long listings: a page of 25 audit entries, 100 API keys."""
    signed_in = {"visit": visit()}
    return {
        "login": render("login.html", title="Sign in", csrf="t", errors={"apiKey": text}),
        "link": render("link.html", title="Sign in", csrf="t", problem=None),
        "link-used": render("link.html", title="Sign in", problem=text),
        "logout": render("logout.html", title="Sign out", **signed_in),
        "error": render("error.html", title="Not allowed", message=text),
        "overview": render(
            "overview.html", title="Overview", view=full_overview(text), rotated=True, **signed_in
        ),
        "rotate": render("rotate_token.html", title="Rotate", **signed_in),
        "api-keys": render(
            "api_keys.html",
            title="API keys",
            keys=many_keys(text, 100),
            revoked=text,
            errors={"name": text, "scopes": text},
            form={"name": text, "scopes": []},
            created={"key": many_keys(text, 1)[0], "plaintext": "lhk_secret"},
            **signed_in,
        ),
        "revoke": render("revoke_key.html", title="Revoke", key=many_keys(text, 1)[0], **signed_in),
        "audit": render(
            "audit.html", title="Audit log", entries=audit_page(text, 25), first_page=False, **signed_in
        ),
        **webhook_pages(text, signed_in),
    }


def test_every_template_is_rendered_by_this_test() -> None:
    rendered = {"login", "link", "logout", "error", "overview", "rotate_token", "api_keys"}
    rendered |= {"revoke_key", "audit", "layout", "macros"} | WEBHOOK_TEMPLATES
    rendered |= {
        "leads",
        "lead",
        "inbox",
        "inbox_rows",
        "conversation",
        "thread",
    }  # test_dashboard_leads_inbox
    rendered |= {
        "channels",
        "disconnect_channel",
        "automations",
        "automation_form",
        "delete_automation",
    }  # test_dashboard_channels_automations
    rendered |= {"widget", "widget_rotate"}  # test_dashboard_widget
    assert {p.stem for p in TEMPLATES_DIR.glob("*.html")} == rendered


@pytest.mark.parametrize("name", sorted(pages("x")))
def test_what_strangers_wrote_is_shown_as_text(name: str) -> None:
    html = pages(SCRIPT)[name]
    assert "<script>alert" not in html
    if name not in ("link", "logout", "coming-soon", "rotate", "webhooks-empty"):  # pages without such text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(("name", "html"), sorted(pages("Zapier production key").items()))
def test_pages_stay_small_and_need_nothing_inline(name: str, html: str) -> None:
    assert len(html.encode()) <= MAX_HTML_BYTES
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=|javascript:", html, re.IGNORECASE)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert scripts == [(f' src="{asset_url("app.js")}" defer', "")]
    assert not re.search(r"(src|href|action)=\"(https?:)?//", html)  # no other origin


def test_the_layout_has_a_skip_link_main_and_the_sessions_navigation() -> None:
    reader = render("logout.html", title="Sign out", visit=visit(frozenset({"leads:read"})))
    assert '<a class="skip-link" href="#main">' in reader and '<main id="main"' in reader
    assert re.findall(r'<li><a href="([^"]+)"', reader) == ["/", "/leads"]
    assert 'name="viewport"' in reader and 'lang="en"' in reader


def test_the_navigation_shows_what_the_scopes_allow() -> None:
    assert visible_sections(ALL) == list(SECTIONS)
    assert visible_sections(frozenset({"leads:read"})) == [OVERVIEW, SECTIONS[1]]
    assert API_KEYS not in visible_sections(frozenset({"account:view"}))
    assert AUDIT in visible_sections(frozenset({"account:view"}))
    assert all(s.scope is None or s.scope in ALL_SCOPES for s in SECTIONS)


# -- assets -------------------------------------------------------------------------------------


def test_assets_are_served_by_content_hash() -> None:
    for asset in manifest().values():
        assert find_asset(asset.hashed_name) is asset
        stem, digest, suffix = asset.hashed_name.split(".")
        assert (f"{stem}.{suffix}", len(digest)) == (asset.name, 12)
    assert find_asset("app.000000000000.css") is None
    assert {"app.css", "app.js", "icon.svg"} <= set(manifest())


def test_all_assets_together_are_small_compressed_and_our_own() -> None:
    compressed = sum(len(gzip.compress(asset.content)) for asset in manifest().values())
    assert compressed <= MAX_ASSETS_GZIP_BYTES
    for path in ASSETS_DIR.iterdir():
        assert not re.search(
            rb"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/",
            path.read_bytes().replace(b"http://www.w3.org/2000/svg", b""),
        ), path.name


# -- the overview -------------------------------------------------------------------------------


class Counts:
    def __init__(self, capture_times: list[str] | None = None, more: bool = False) -> None:
        self.calls: list[str] = []
        self.capture_times = capture_times or []
        self.more = more

    def capture_times_since(self, account_id: str, since: str, bound: int) -> Page[str]:
        self.calls.append(f"leads since {since}")
        return Page(self.capture_times, "more" if self.more else None)

    def list_page(self, account_id: str, limit: int, cursor: str | None) -> Page[Lead]:
        self.calls.append(f"latest {limit}")
        return Page([])

    def count_open(self, account_id: str, bound: int) -> BoundedCount:
        self.calls.append("open")
        return BoundedCount(2)

    def count_failed_since(self, account_id, endpoint_ids, created_since, failed_since, bound):
        self.calls.append(f"failed since {failed_since}")
        return BoundedCount(bound, complete=False)


def overview_with(principal: Principal, accounts: InMemoryAccounts, counts: Counts) -> Overview:
    return overview(
        principal,
        "https://api.example.com",
        accounts=accounts,
        cipher=ContextBoundCipher(),
        leads=counts,
        conversations=counts,
        endpoints=InMemoryEndpoints(),
        deliveries=counts,
        now=NOW,
    )


@pytest.mark.parametrize(
    ("scopes", "shown"),
    [
        (ALL, {"webhook", "leads", "open", "failed"}),
        (frozenset({"leads:read"}), {"leads"}),
        (frozenset({"account:view"}), {"webhook"}),
        (frozenset({"webhooks:manage", "conversations:manage"}), {"open", "failed"}),
    ],
)
def test_the_overview_shows_and_counts_only_what_the_scopes_allow(
    scopes: frozenset[str], shown: set[str]
) -> None:
    accounts, counts = InMemoryAccounts(), Counts()
    created = create_account(
        "Acme", Plan.PRO, "US", None, accounts=accounts, cipher=ContextBoundCipher(), now=NOW
    )
    principal = Principal(created.view.account.account_id, "key_1", scopes)

    view = overview_with(principal, accounts, counts)

    found = {
        "webhook": view.lead_webhook is not None,
        "leads": None not in (view.leads_today, view.leads_last_7_days, view.recent_leads),
        "open": view.open_conversations is not None,
        "failed": view.failed_deliveries_24h is not None,
    }
    assert {name for name, present in found.items() if present} == shown
    if "webhook" in shown:
        assert (
            view.lead_webhook.url
            == f"https://api.example.com/api/webhooks/leads/{created.view.webhook_token}"
        )
    if "leads" in shown:
        assert counts.calls[:2] == ["latest 5", "leads since 2026-11-16T09:00:00.000Z"]  # one read: 7 days
    if "failed" in shown:
        assert str(view.failed_deliveries_24h).endswith("+")


@pytest.mark.parametrize(
    ("times", "more", "today", "week"),
    [
        (["2026-11-23T08:00:00.000Z", "2026-11-22T23:59:59.999Z"], False, "1", "2"),
        (["2026-11-23T08:00:00.000Z", "2026-11-23T00:00:00.000Z"], True, "2+", "2+"),  # cut short today
        (["2026-11-23T08:00:00.000Z", "2026-11-20T10:00:00.000Z"], True, "1", "2+"),  # today is complete
        ([], False, "0", "0"),
    ],
)
def test_leads_today_and_this_week_come_from_one_bounded_read(
    times: list[str], more: bool, today: str, week: str
) -> None:
    accounts = InMemoryAccounts()
    created = create_account(
        "Acme", Plan.PRO, "US", None, accounts=accounts, cipher=ContextBoundCipher(), now=NOW
    )
    counts = Counts(times, more)
    principal = Principal(created.view.account.account_id, "key_1", frozenset({"leads:read"}))

    view = overview_with(principal, accounts, counts)

    assert (str(view.leads_today), str(view.leads_last_7_days)) == (today, week)


def test_failed_deliveries_are_counted_over_recovers_window() -> None:
    assert FAILED_DELIVERY_LOOKBACK == RECOVER_WINDOW


def test_the_snippets_post_to_the_url() -> None:
    snippets = lead_webhook("https://api.example.com/api/webhooks/leads/lht_abc")
    assert "curl -sS -X POST https://api.example.com/api/webhooks/leads/lht_abc" in snippets.curl
    assert (
        '<form method="post" action="https://api.example.com/api/webhooks/leads/lht_abc">'
        in snippets.html_form
    )
    assert 'name="phone"' in snippets.html_form


# -- parsing what browsers send -----------------------------------------------------------------


class Event(dict):
    @property
    def body(self) -> str | None:
        return self.get("body")

    @property
    def is_base64_encoded(self) -> bool:
        return bool(self.get("isBase64Encoded"))


@given(st.binary(max_size=300))
def test_any_form_body_is_read_or_refused_with_a_400(body: bytes) -> None:
    import base64

    event = Event(body=base64.b64encode(body).decode(), isBase64Encoded=True)
    try:
        form = read_form(event)  # type: ignore[arg-type]
    except InvalidRequest:
        return
    assert isinstance(form.get("csrf"), str) and isinstance(form.get_all("scopes"), list)


def test_an_oversized_form_is_refused() -> None:
    with pytest.raises(PayloadTooLarge):
        read_form(Event(body="a=" + "x" * 20_000))  # type: ignore[arg-type]


@given(st.lists(st.text(max_size=40), max_size=5))
def test_any_cookie_header_is_read_without_failing(cookies: list[str]) -> None:
    jar = CookieJar(secure=True)
    value = jar.read({"cookies": cookies}, jar.session_name)  # type: ignore[arg-type]
    assert value is None or isinstance(value, str)


def test_secure_cookies_are_host_only_httponly_and_strict() -> None:
    text = str(CookieJar(secure=True).session("lhs_x", 604800))
    assert text.startswith("__Host-lh_session=lhs_x; Path=/; Max-Age=604800")
    assert {"Secure", "HttpOnly", "SameSite=Strict"} <= set(text.split("; "))
    local = str(CookieJar(secure=False).session("lhs_x", 60))
    assert local.startswith("lh_session=") and "Secure" not in local


def test_scopes_of_every_section_are_real_scopes() -> None:
    assert {s.scope for s in SECTIONS if s.scope} <= set(Scope)
