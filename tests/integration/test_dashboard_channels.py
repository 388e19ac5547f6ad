"""The channels page through the dashboard handler, its storage in moto and loopback fakes of the Graph
API, the Bot API and Resend: connecting each channel with the domain functions the API uses (the same
records, audit entries with source "dashboard"), providers' refusals next to their field, verification and
disconnecting; and what a session without integrations:manage gets."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from types import ModuleType

import pytest

from local.fake_providers import FakeGraphApi, FakeResendApi, FakeTelegramBotApi
from tests.integration.conftest import HOST, Account, Api, Stack, shared_clients
from tests.integration.test_dashboard import Answer, Browser

BOT_TOKEN = "7000001:AAH-dashboard_token"
WABA = {"wabaId": "1234567890987654321", "phoneNumberId": "1122334455667", "accessToken": "EAAG-dash"}
RESEND_KEY = "re_dashboard_key"


@pytest.fixture
def fakes() -> Iterator[tuple[FakeGraphApi, FakeTelegramBotApi, FakeResendApi]]:
    graph = FakeGraphApi(WABA["wabaId"], WABA["phoneNumberId"], WABA["accessToken"])
    telegram = FakeTelegramBotApi(BOT_TOKEN)
    resend = FakeResendApi(RESEND_KEY)
    yield graph, telegram, resend
    for fake in (graph, telegram, resend):
        fake.close()


@pytest.fixture
def dashboard(
    api: Api, stack: Stack, fakes: tuple[FakeGraphApi, FakeTelegramBotApi, FakeResendApi]
) -> ModuleType:
    graph, telegram, resend = fakes
    parameter = stack.specs["DashboardFunction"].environment["RESEND_API_KEY_PARAMETER"]
    shared_clients().client("ssm").put_parameter(Name=parameter, Value=RESEND_KEY, Type="SecureString")
    return stack.load_function(
        "DashboardFunction",
        GRAPH_API_BASE_URL=graph.base_url,
        TELEGRAM_API_BASE_URL=telegram.url,
        RESEND_API_BASE_URL=resend.url,
    )


@pytest.fixture
def browser(dashboard: ModuleType, account: Account) -> Browser:
    signed_in = Browser(dashboard)
    assert signed_in.sign_in(account.api_key).status == 303
    return signed_in


def post(browser: Browser, path: str, form: dict[str, str] | None = None) -> Answer:
    return browser.request("POST", path, {**(form or {}), "csrf": browser.csrf("/channels")})


def follow(browser: Browser, answer: Answer) -> str:
    """The page a 303 leads to, as a browser asks for it (without the #fragment)."""
    return browser.request("GET", answer.headers["location"].partition("#")[0]).text


def field_error(page: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', page, re.S)
    assert found, f"no error next to {field}"
    return html.unescape(found.group(1))


def audit_sources(stack: Stack, action: str) -> list[str]:
    return [i["source"]["S"] for i in stack.entities("audit") if i["action"]["S"] == action]


def test_connecting_telegram_shows_the_bot_and_registers_its_webhook(
    browser: Browser, fakes, stack: Stack, api: Api, account: Account
) -> None:
    _, telegram, _ = fakes
    page = browser.request("GET", "/channels")
    assert page.status == 200 and "Connect Telegram" in page.text

    answer = post(browser, "/channels/telegram", {"telegramBotToken": BOT_TOKEN})

    assert (answer.status, answer.headers["location"]) == (303, "/channels?connected=telegram#telegram")
    shown = follow(browser, answer)
    assert "@acme_leads_bot" in shown and "Telegram is connected." in shown
    assert BOT_TOKEN not in shown
    assert telegram.webhook is not None and telegram.webhook["url"].endswith("/api/webhooks/telegram")
    # The same record the API shows, and an audit entry saying where the change was made.
    through_api = api.call("GET", "/api/integrations/telegram", api_key=account.api_key)
    assert through_api.body["botUsername"] == "acme_leads_bot"
    assert audit_sources(stack, "integration.connected") == ["dashboard"]


def test_telegrams_refusal_and_a_claimed_bot_appear_next_to_the_token_field(
    browser: Browser, api: Api
) -> None:
    refused = post(browser, "/channels/telegram", {"telegramBotToken": "7000002:AAH-unknown"})
    assert refused.status == 400
    assert field_error(refused.text, "telegramBotToken") == "Telegram: Unauthorized"
    malformed = post(browser, "/channels/telegram", {"telegramBotToken": "<script>alert(1)</script>"})
    assert malformed.status == 400 and "String should match pattern" in field_error(
        malformed.text, "telegramBotToken"
    )
    assert "<script>alert(1)</script>" not in malformed.text  # a token is never shown again

    owner = api.create_account("Bot owner")
    assert (
        api.call(
            "PUT",
            "/api/integrations/telegram",
            api_key=owner.api_key,
            json_body={"telegramBotToken": BOT_TOKEN},
        ).status
        == 200
    )
    taken = post(browser, "/channels/telegram", {"telegramBotToken": BOT_TOKEN})
    assert taken.status == 409
    assert "connected to another account" in field_error(taken.text, "telegramBotToken")


def test_connecting_whatsapp_and_the_graph_apis_refusal(browser: Browser, stack: Stack) -> None:
    page = browser.request("GET", "/channels")
    assert 'value="https://' + HOST + '/api/webhooks/meta-whatsapp"' in page.text  # Meta's callback URL

    wrong_number = post(browser, "/channels/whatsapp", {**WABA, "phoneNumberId": "999"})
    assert wrong_number.status == 400
    assert "is not a phone number of this WhatsApp Business account" in field_error(
        wrong_number.text, "phoneNumberId"
    )
    assert 'value="999"' in wrong_number.text and WABA["accessToken"] not in wrong_number.text
    bad_token = post(browser, "/channels/whatsapp", {**WABA, "accessToken": "EAAG-wrong"})
    assert bad_token.status == 400 and field_error(bad_token.text, "accessToken").startswith("Graph API: ")

    connected = post(browser, "/channels/whatsapp", WABA)

    assert connected.status == 303
    shown = browser.request("GET", "/channels")
    assert "Disconnect WhatsApp" in shown.text and WABA["phoneNumberId"] in shown.text
    assert WABA["accessToken"] not in shown.text
    [stored] = stack.entities("integration")
    assert WABA["accessToken"] not in str(stored)  # encrypted


def test_email_shows_the_dns_records_and_their_state_after_verify(
    browser: Browser, fakes, stack: Stack
) -> None:
    _, _, resend = fakes
    connected = post(
        browser, "/channels/email", {"emailFromAddress": "hello@shop.example", "emailFromName": "Shop"}
    )
    assert connected.status == 303
    page = browser.request("GET", "/channels").text
    assert page.count("<tr>\n          <td>") == 4  # SPF MX, SPF TXT, DKIM, receiving MX
    assert "inbound-mx.resend.com" in page and "not checked yet" in page and "data-refresh" not in page

    verify = post(browser, "/channels/email/verify")

    assert (verify.status, verify.headers["location"]) == (303, "/channels?verification=requested#email")
    pending = follow(browser, verify)
    assert "Verification requested" in pending and pending.count(">checking…<") == 5  # the domain, 4 records
    assert 'data-refresh="/channels"' in pending and 'aria-live="polite"' in pending
    assert resend.complete_verification("shop.example") == 4
    verified = browser.request("GET", "/channels").text
    assert verified.count(">verified<") == 5 and "data-refresh" not in verified
    assert audit_sources(stack, "integration.verification_requested") == ["dashboard"]


def test_a_name_resend_would_refuse_and_resend_being_down_are_shown_on_the_form(
    browser: Browser, fakes
) -> None:
    _, _, resend = fakes
    bad_name = post(
        browser, "/channels/email", {"emailFromAddress": "a@shop.example", "emailFromName": "A <b>"}
    )
    assert bad_name.status == 400
    assert (
        field_error(bad_name.text, "emailFromName") == "one line without control characters or angle brackets"
    )
    assert 'value="A &lt;b&gt;"' in bad_name.text  # what was typed, escaped
    resend.fail_next(3, 500)
    down = post(browser, "/channels/email", {"emailFromAddress": "a@shop.example", "emailFromName": "A"})
    assert down.status == 502 and "Resend" in field_error(down.text, "body")


def test_disconnecting_asks_first_and_then_deletes_the_telegram_webhook(
    browser: Browser, fakes, stack: Stack
) -> None:
    _, telegram, _ = fakes
    post(browser, "/channels/telegram", {"telegramBotToken": BOT_TOKEN})
    confirm = browser.request("GET", "/channels/telegram/disconnect")
    assert confirm.status == 200 and "@acme_leads_bot" in confirm.text and telegram.webhook is not None

    done = post(browser, "/channels/telegram/disconnect")

    assert (done.status, done.headers["location"]) == (303, "/channels?disconnected=telegram")
    assert telegram.webhook is None and stack.entities("integration") == []
    assert "Telegram is disconnected." in follow(browser, done)
    assert browser.request("GET", "/channels/telegram/disconnect").status == 404
    assert browser.request("GET", "/channels/fax/disconnect").status == 404
    assert audit_sources(stack, "integration.disconnected") == ["dashboard"]


def test_a_session_without_integrations_manage_sees_no_channels_and_cannot_connect(
    dashboard: ModuleType, api: Api, account: Account, fakes, stack: Stack
) -> None:
    _, telegram, _ = fakes
    reader = api.call(
        "POST",
        "/api/api-keys",
        api_key=account.api_key,
        json_body={"name": "reader", "scopes": ["leads:read", "conversations:manage"]},
    )
    browser = Browser(dashboard)
    browser.sign_in(reader.body["apiKey"])
    overview = browser.request("GET", "/")
    assert 'href="/channels"' not in overview.text
    assert browser.request("GET", "/channels").status == 403
    csrf = browser.csrf("/")

    for path, form in (
        ("/channels/telegram", {"telegramBotToken": BOT_TOKEN}),
        ("/channels/whatsapp", WABA),
        ("/channels/email", {"emailFromAddress": "a@shop.example", "emailFromName": "A"}),
        ("/channels/email/verify", {}),
        ("/channels/telegram/disconnect", {}),
    ):
        assert browser.request("POST", path, {**form, "csrf": csrf}).status == 403, path
    assert telegram.calls == [] and stack.entities("integration") == []
