"""The dashboard function and its storage in moto: sessions and links in the table, the overview's counts,
security headers and caching on every kind of response, the failed sign-in limit per address, CSRF, and the
management API's POST /api/dashboard/links."""

from __future__ import annotations

import base64
import gzip
import re
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest

from leadhub.accounts.models import Principal
from leadhub.conversations.adapters.dynamodb_conversations import DynamoConversationStore
from leadhub.dashboard.adapters.dynamodb_dashboard import DynamoSessions, DynamoSignInLinks
from leadhub.dashboard.links import mint_sign_in_link
from leadhub.dashboard.sessions import new_session, signed_in_audit
from leadhub.dashboard.sign_in_limit import MAX_FAILURES
from leadhub.leads.adapters.dynamodb_leads import DynamoLeadRepository
from leadhub.outbound.adapters.dynamodb_delivery_log import DynamoDeliveryLog
from leadhub.outbound.models import Delivery, DeliveryStatus
from leadhub.platform.ids import token_hash
from leadhub.platform.paging import BoundedCount
from leadhub.platform.timestamps import to_iso, utc_now
from tests.integration.conftest import Account, Api, LambdaContext, Stack, http_event, routes_by_module

SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' "
    "data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    cookies: list[str]
    text: str
    raw: dict[str, Any]


@dataclass
class Browser:
    """Sends requests to the dashboard handler as API Gateway would, keeping cookies like a browser."""

    module: ModuleType
    source_ip: str = "203.0.113.10"
    jar: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        path, _, query = path.partition("?")
        body = urlencode(form or {}, doseq=True).encode() if form is not None else None
        sent = {"content-type": "application/x-www-form-urlencoded"} if form is not None else {}
        event = http_event(
            method,
            path,
            route_key="ANY /{proxy+}" if path != "/" else "ANY /",
            headers={**sent, **(headers or {})},
            body=body,
            base64_body=body is not None,
            query=query,
        )
        event["requestContext"]["http"]["sourceIp"] = self.source_ip
        if self.jar:
            event["cookies"] = [f"{k}={v}" for k, v in self.jar.items()]
        raw = self.module.lambda_handler(event, LambdaContext())
        cookies = list(raw.get("cookies") or [])
        for cookie in cookies:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in cookie:
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
        body_bytes = base64.b64decode(raw.get("body") or "") if raw.get("isBase64Encoded") else None
        if body_bytes is not None and raw["headers"].get("Content-Encoding") == "gzip":
            body_bytes = gzip.decompress(body_bytes)
        text = body_bytes.decode() if body_bytes is not None else raw.get("body") or ""
        headers_ = {k.lower(): v for k, v in raw["headers"].items()}
        return Answer(raw["statusCode"], headers_, cookies, text, raw)

    def csrf(self, path: str) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.request("GET", path).text)
        assert found, path
        return found.group(1)

    def sign_in(self, api_key: str) -> Answer:
        return self.request("POST", "/login", {"apiKey": api_key, "csrf": self.csrf("/login")})


def nav_links(html: str) -> list[str]:
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.DOTALL)
    return re.findall(r'<a href="([^"]+)"', nav.group(1)) if nav else []


@pytest.fixture
def dashboard(api: Api, stack: Stack) -> ModuleType:
    return stack.load_function("DashboardFunction")


def test_a_key_signs_in_with_host_only_secure_cookies_and_the_session_is_stored_hashed(
    dashboard: ModuleType, account: Account, stack: Stack
) -> None:
    browser = Browser(dashboard)
    assert browser.request("GET", "/").headers["location"] == "/login"

    answer = browser.sign_in(account.api_key)

    assert (answer.status, answer.headers["location"]) == (303, "/")
    [session_cookie] = [c for c in answer.cookies if c.startswith("__Host-lh_session=")]
    assert {"Path=/", "Secure", "HttpOnly", "SameSite=Strict"} <= set(session_cookie.split("; "))
    token = browser.jar["__Host-lh_session"]
    [stored] = stack.entities("dashboard_session")
    assert stored["pk"]["S"] == f"DASHSESSION#{token_hash(token)}"
    assert token not in str(stack.items()) and account.api_key not in str(stored)
    assert int(stored["expiresAt"]["N"]) > 0  # the table's TTL attribute
    overview = browser.request("GET", "/")
    assert (
        overview.status == 200 and "Lead webhook" in overview.text and account.webhook_token in overview.text
    )


def test_each_page_module_loads_for_the_paths_it_serves(dashboard: ModuleType) -> None:
    # A cold start imports only the page modules its path may need (app.PAGE_MODULES); a page whose module
    # the map does not name for its path would answer 404 on a fresh environment.
    dashboard.include_pages(dashboard.ALL_PAGE_MODULES)
    served = routes_by_module(dashboard, "pages", dashboard.ALL_PAGE_MODULES)

    assert [(rule, name) for rule, name in served if name not in dashboard.page_modules_for(rule)] == []
    assert dashboard.page_modules_for("/nowhere/else") == ()


def test_a_cold_start_imports_the_pages_of_its_request_s_section_only(
    dashboard: ModuleType, account: Account
) -> None:
    assert dashboard._included == set()
    browser = Browser(dashboard)

    assert browser.sign_in(account.api_key).status == 303
    assert browser.request("GET", "/").status == 200
    assert dashboard._included == {"sign_in", "overview"}
    assert not {"pages.webhooks", "pages.inbox", "pages.leads"} & set(sys.modules)
    # Another section's first request brings its own pages.
    assert "Add an endpoint" in browser.request("GET", "/webhooks").text
    assert dashboard._included == {"sign_in", "overview", "webhooks"}
    # A path no page serves: the not-found page, nothing imported.
    missing = browser.request("GET", "/nowhere")
    assert (missing.status, "There is no page at this address." in missing.text) == (404, True)
    assert dashboard._included == {"sign_in", "overview", "webhooks"}


def test_every_kind_of_response_carries_the_security_headers(dashboard: ModuleType, account: Account) -> None:
    browser = Browser(dashboard)
    browser.sign_in(account.api_key)
    css = re.search(r'href="(/assets/app\.[0-9a-f]{12}\.css)"', browser.request("GET", "/").text)
    assert css
    answers = {
        "page": browser.request("GET", "/audit"),
        "redirect": Browser(dashboard).request("GET", "/"),
        "not found": browser.request("GET", "/no/such/page"),
        "forbidden": browser.request("POST", "/settings/api-keys", {"name": "x"}),
        "asset": browser.request("GET", css.group(1), headers={"accept-encoding": "gzip"}),
        "old asset": browser.request("GET", "/assets/app.000000000000.css"),
    }
    for name, answer in answers.items():
        assert {k: answer.headers.get(k) for k in SECURITY_HEADERS} == SECURITY_HEADERS, name
    assert [answers[n].status for n in answers] == [200, 303, 404, 403, 200, 404]
    assert answers["asset"].headers["cache-control"] == "public, max-age=31536000, immutable"
    assert answers["asset"].headers["content-encoding"] == "gzip" and ":root" in answers["asset"].text
    for name in ("page", "redirect", "not found", "forbidden", "old asset"):
        assert answers[name].headers["cache-control"] == "no-store", name
    assert "text/html" in answers["not found"].headers["content-type"]


def test_a_form_without_its_csrf_token_or_from_another_site_is_refused(
    dashboard: ModuleType, account: Account, stack: Stack
) -> None:
    browser = Browser(dashboard)
    browser.sign_in(account.api_key)
    csrf = browser.csrf("/settings/api-keys")
    form = {"name": "ci", "scopes": ["leads:read"]}
    keys_before = len(stack.entities("api_key"))

    assert browser.request("POST", "/settings/api-keys", form).status == 403
    assert browser.request("POST", "/settings/api-keys", {**form, "csrf": "0" * 64}).status == 403
    cross_site = {"origin": "https://evil.example", "sec-fetch-site": "cross-site"}
    assert browser.request("POST", "/settings/api-keys", {**form, "csrf": csrf}, cross_site).status == 403
    assert len(stack.entities("api_key")) == keys_before
    created = browser.request("POST", "/settings/api-keys", {**form, "csrf": csrf})
    assert created.status == 201 and len(stack.entities("api_key")) == keys_before + 2  # lookup + listing


def test_the_login_form_is_protected_before_any_session(dashboard: ModuleType, account: Account) -> None:
    browser = Browser(dashboard)
    browser.request("GET", "/login")  # sets the double-submit cookie

    assert browser.request("POST", "/login", {"apiKey": account.api_key}).status == 403
    stranger = Browser(dashboard)  # a forged form: the right field, but no cookie to match it
    assert stranger.request("POST", "/login", {"apiKey": account.api_key, "csrf": "f" * 64}).status == 403
    assert "__Host-lh_session" not in browser.jar and "__Host-lh_session" not in stranger.jar


def test_failed_sign_ins_are_limited_per_address_with_retry_after(
    dashboard: ModuleType, account: Account, stack: Stack
) -> None:
    attacker = Browser(dashboard, source_ip="198.51.100.66")
    for _ in range(MAX_FAILURES):
        assert attacker.sign_in("lhk_" + "x" * 43).status == 400

    refused = attacker.sign_in(account.api_key)

    assert refused.status == 429 and 0 < int(refused.headers["retry-after"]) <= 900
    assert Browser(dashboard, source_ip="203.0.113.99").sign_in(account.api_key).status == 303
    [counter] = [i for i in stack.items() if i["pk"]["S"].startswith("SIGNINFAILURES#")]
    assert "198.51.100.66" not in str(counter) and int(counter["expiresAt"]["N"]) > 0


def test_logout_ends_the_session_and_the_old_cookie_opens_nothing(
    dashboard: ModuleType, account: Account, stack: Stack
) -> None:
    browser = Browser(dashboard)
    browser.sign_in(account.api_key)
    old_cookie = dict(browser.jar)

    answer = browser.request("POST", "/logout", {"csrf": browser.csrf("/")})

    assert (answer.status, answer.headers["location"]) == (303, "/login")
    assert stack.entities("dashboard_session") == []
    assert Browser(dashboard, jar=old_cookie).request("GET", "/").status == 303


def test_a_session_ends_when_its_key_is_revoked(
    dashboard: ModuleType, api: Api, account: Account, stack: Stack
) -> None:
    created = api.call(
        "POST", "/api/api-keys", api_key=account.api_key, json_body={"name": "temp", "scopes": ["leads:read"]}
    )
    sessions = DynamoSessions(stack.table_name)
    opened = new_session(
        account.account_id, frozenset({"leads:read"}), "k", "api_key", created.body["keyId"], utc_now()
    )
    sessions.create(opened.session, signed_in_audit(opened.session))
    later = to_iso(utc_now() + timedelta(minutes=2))
    assert sessions.touch(opened.session, later)

    api.call("DELETE", f"/api/api-keys/{created.body['keyId']}", api_key=account.api_key)

    assert not sessions.touch(opened.session, later)


def test_a_link_is_used_once_even_by_two_concurrent_sign_ins(
    account: Account, stack: Stack, api: Api
) -> None:
    from leadhub.accounts.adapters.dynamodb_accounts import DynamoAccountRepository

    links = DynamoSignInLinks(stack.table_name)
    principal = Principal(account.account_id, "key_x", frozenset({"leads:read"}))
    minted = mint_sign_in_link(
        principal, None, None, accounts=DynamoAccountRepository(stack.table_name), links=links, now=utc_now()
    )
    link = links.get(minted.link.link_hash)
    assert link is not None and link.used_at is None
    first, second = (
        new_session(account.account_id, frozenset(), link.link_id, "link", None, utc_now()) for _ in "ab"
    )

    outcomes = [
        links.consume(link, o.session, signed_in_audit(o.session), to_iso(utc_now())) for o in (first, second)
    ]

    assert outcomes == [True, False]
    assert len(stack.entities("dashboard_session")) == 1
    assert links.get(minted.link.link_hash).used_at is not None  # type: ignore[union-attr]


# -- the management API's links -----------------------------------------------------------------


def test_the_api_mints_a_link_that_signs_in_once(dashboard: ModuleType, api: Api, account: Account) -> None:
    minted = api.call(
        "POST", "/api/dashboard/links", api_key=account.api_key, json_body={"scopes": ["leads:read"]}
    )
    assert minted.status == 201, minted.body
    assert set(minted.body) == {"url", "expiresAt"}
    path = "/" + minted.body["url"].split("/", 3)[3]
    browser = Browser(dashboard)

    opened = browser.request("POST", path, {"csrf": browser.csrf(path)})

    assert opened.status == 303
    home = browser.request("GET", "/")
    assert home.status == 200 and nav_links(home.text) == ["/", "/leads"]
    assert browser.request("GET", "/settings/api-keys").status == 403
    again = Browser(dashboard).request("GET", path)
    assert again.status == 410 and "used already" in again.text


def test_link_requests_are_checked_like_every_other_body(api: Api, account: Account) -> None:
    agency = api.create_account("Agency")
    managed = api.create_account("Client", parentAccountId=agency.account_id)
    reader = api.call(
        "POST", "/api/api-keys", api_key=account.api_key, json_body={"name": "r", "scopes": ["leads:read"]}
    )

    cases = [
        (account.api_key, {"accountId": managed.account_id}, 400, "accountId"),
        (account.api_key, {"scopes": ["nope"]}, 400, "scopes.0"),
        (account.api_key, {"scopes": []}, 400, "scopes"),
        (reader.body["apiKey"], {}, 403, None),
        (agency.api_key, {"accountId": managed.account_id}, 201, None),
    ]
    for key, body, status, field_name in cases:
        answer = api.call("POST", "/api/dashboard/links", api_key=key, json_body=body)
        assert answer.status == status, (body, answer.body)
        if field_name:
            assert field_name in [d["field"] for d in answer.body["details"]], answer.body


# -- the overview's counts ----------------------------------------------------------------------


def test_counts_read_at_most_their_bound(api: Api, account: Account, stack: Stack) -> None:
    for n in range(5):
        assert api.post_lead(account.webhook_token, {"phone": f"+1415555{n:04d}"}).status == 201
    leads = DynamoLeadRepository(stack.table_name)
    since = to_iso(utc_now() - timedelta(hours=1))

    everything = leads.capture_times_since(account.account_id, since, 100)
    assert len(everything.items) == 5 and everything.next_cursor is None
    assert everything.items == sorted(everything.items, reverse=True) and everything.items[0] > since
    first_three = leads.capture_times_since(account.account_id, since, 3)
    assert first_three.items == everything.items[:3] and first_three.next_cursor is not None
    later = to_iso(utc_now() + timedelta(hours=1))
    assert leads.capture_times_since(account.account_id, later, 100).items == []
    assert DynamoConversationStore(stack.table_name).count_open(account.account_id, 100) == BoundedCount(0)


def test_failed_deliveries_are_counted_by_when_they_failed(account: Account, stack: Stack) -> None:
    log = DynamoDeliveryLog(stack.table_name)
    now = utc_now()

    def delivery(n: int, status: DeliveryStatus, updated: timedelta) -> None:
        created = to_iso(now - timedelta(days=2))
        record = Delivery(
            account.account_id,
            f"msg_{n}",
            "ep_1",
            f"evt_{n}",
            "lead.created",
            account.account_id,
            created,
            to_iso(now - updated),
            {},
            status=status,
        )
        log.save(record)

    delivery(1, DeliveryStatus.FAILED, timedelta(hours=1))
    delivery(2, DeliveryStatus.FAILED, timedelta(hours=30))  # failed, but not in the last 24 h
    delivery(3, DeliveryStatus.DELIVERED, timedelta(hours=1))
    delivery(4, DeliveryStatus.FAILED, timedelta(hours=2))
    since_created, since_failed = to_iso(now - timedelta(days=14)), to_iso(now - timedelta(hours=24))

    assert log.count_failed_since(
        account.account_id, ["ep_1"], since_created, since_failed, 100
    ) == BoundedCount(2)
    assert log.count_failed_since("acc_other", ["ep_1"], since_created, since_failed, 100) == BoundedCount(0)
    assert (
        log.count_failed_since(account.account_id, ["ep_1"], since_created, since_failed, 2).complete is False
    )
