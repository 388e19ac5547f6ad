"""Channels and automations in a real browser (Debian's Chromium, Playwright) against the session's local
stack and its loopback fakes of the Graph API, the Bot API and Resend: connect all three channels, see the
bot's name and the DNS records' state change without a reload once Resend has checked them, disconnect
after a confirmation; a keyword automation made in the browser answers a Telegram message; what a session
without integrations:manage gets. Also writes the channels and automations screenshots."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import expect

from local.fake_providers import FakeGraphApi, FakeResendApi, FakeTelegramBotApi
from tests.e2e.browsing import PLACEHOLDERS_SCRIPT, SCREENSHOTS, Visitor, api_key
from tests.e2e.conftest import WHATSAPP_ACCOUNT, wait_until
from tests.e2e.test_dashboard import SCRIPT_NAME
from tests.stack_process import StackProcess

NewAccount = Callable[..., dict[str, str]]
# A bot and a domain of this file's own: other tests connect theirs, and a bot or domain is one account's.
BOT_TOKEN, BOT_ID, BOT_NAME = "7000160:AAH-dashboard_channels", 7000160, "dash_channels_bot"
DOMAIN = "dash-channels.example"
REPLY = f"Flats from 900 a month {SCRIPT_NAME}"


@pytest.fixture
def whatsapp_released(http: httpx.Client) -> Iterator[list[str]]:
    """The fake Graph API has one number and a number is one account's: the keys of accounts that
    connected it here, whose connection is dropped afterwards (the browser disconnects it; this is for a
    failure half-way)."""
    keys: list[str] = []
    yield keys
    for key in keys:
        http.delete("/api/integrations/whatsapp", headers={"X-API-Key": key})


def connect_telegram_bot(visitor: Visitor, token: str) -> None:
    visitor.page.get_by_label("Bot token").fill(token)
    visitor.page.get_by_role("button", name="Connect Telegram").click()


def test_connecting_the_three_channels_in_the_browser(
    visitor: Visitor,
    new_account: NewAccount,
    graph: FakeGraphApi,
    telegram_api: FakeTelegramBotApi,
    resend: FakeResendApi,
    stack: StackProcess,
    whatsapp_released: list[str],
) -> None:
    telegram_api.add_bot(BOT_TOKEN, BOT_ID, BOT_NAME)
    account = new_account("Acme Realty")
    visitor.sign_in(account["apiKey"])
    visitor.go("/channels")
    page = visitor.page
    assert page.get_by_label("Callback URL").input_value() == f"{stack.api}/api/webhooks/meta-whatsapp"

    # WhatsApp: a wrong number is refused next to its field in the API's words, then the right one.
    page.get_by_label("WhatsApp Business Account id").fill(WHATSAPP_ACCOUNT["wabaId"])
    page.get_by_label("Phone number id").fill("999")
    page.get_by_label("Access token").fill(WHATSAPP_ACCOUNT["accessToken"])
    page.get_by_role("button", name="Connect WhatsApp").click()
    expect(page.locator("#phoneNumberId-error")).to_have_text(
        "is not a phone number of this WhatsApp Business account"
    )
    assert page.get_by_label("Phone number id").get_attribute("aria-invalid") == "true"
    page.get_by_label("Phone number id").fill(WHATSAPP_ACCOUNT["phoneNumberId"])
    page.get_by_label("Access token").fill(WHATSAPP_ACCOUNT["accessToken"])
    whatsapp_released.append(account["apiKey"])
    page.get_by_role("button", name="Connect WhatsApp").click()
    expect(page.get_by_role("status")).to_have_text("WhatsApp is connected.")
    expect(page.locator("#whatsapp .connected")).to_contain_text("+1 555-0100")

    # Telegram: the token goes in, the bot's name comes out, and its webhook is registered.
    connect_telegram_bot(visitor, "7000160:AAH-not_a_bot")
    expect(page.locator("#telegramBotToken-error")).to_have_text("Telegram: Unauthorized")
    connect_telegram_bot(visitor, BOT_TOKEN)
    expect(page.locator("#telegram .bot-username")).to_have_text(f"@{BOT_NAME}")
    assert telegram_api.webhooks[BOT_ID]["url"] == f"{stack.api}/api/webhooks/telegram"
    assert BOT_TOKEN not in page.content()

    # Email: the DNS records in a table, then verification, whose outcome shows without a reload.
    page.get_by_label("From address").fill(f"hello@{DOMAIN}")
    page.get_by_label("From name").fill("Acme Realty")
    page.get_by_role("button", name="Connect email").click()
    records = page.locator("#email-state table tbody tr")
    expect(records).to_have_count(4)
    expect(page.locator("#email-state")).to_contain_text("not checked yet")
    expect(page.locator("#email-state")).to_contain_text("inbound-mx.resend.com")
    page.get_by_role("button", name="Verify the records").click()
    expect(page.get_by_role("status")).to_contain_text("Verification requested")
    expect(page.locator("#email-state .state-pending")).to_have_count(5)  # the domain and its records
    page.evaluate("document.body.dataset.loadedOnce = 'yes'")  # gone if the page reloads
    assert page.get_by_role("button", name="Copy").first.is_visible()  # script shows the copy buttons
    verified = httpx.post(f"{resend.url}/_verify_now", json={"domain": DOMAIN})
    assert verified.json() == {"records": 4}
    expect(page.locator("#email-state .state-verified")).to_have_count(5, timeout=15_000)
    assert page.evaluate("document.body.dataset.loadedOnce") == "yes"
    assert page.locator("#email-state").get_attribute("data-refresh") is None  # nothing left to check

    for width in (1100, 390):  # at phone width only the tables scroll sideways, in their own boxes
        page.set_viewport_size({"width": width, "height": 760})
        assert page.evaluate("document.documentElement.scrollWidth - innerWidth") <= 0, width
    page.set_viewport_size({"width": 1100, "height": 760})
    page.evaluate(PLACEHOLDERS_SCRIPT)
    page.locator("#email").screenshot(path=SCREENSHOTS / "channels.png")  # the whole page: over 200 KB

    # Disconnecting asks first.
    visitor.go("/channels")
    page.get_by_role("link", name="Disconnect WhatsApp…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Disconnect WhatsApp?")
    page.get_by_role("button", name="Disconnect WhatsApp").click()
    expect(page.get_by_role("status")).to_have_text("WhatsApp is disconnected.")
    assert page.get_by_role("button", name="Connect WhatsApp").is_visible()
    refusals = "the server responded with a status of 400"  # the two refused forms above
    assert visitor.dialogs == [] and [p for p in visitor.problems() if refusals not in p] == []


def test_a_keyword_automation_made_in_the_browser_answers_a_telegram_message(
    visitor: Visitor,
    new_account: NewAccount,
    http: httpx.Client,
    telegram_api: FakeTelegramBotApi,
) -> None:
    token, bot_id = "7000161:AAH-dashboard_automation", 7000161
    telegram_api.add_bot(token, bot_id, "dash_automation_bot")
    account = new_account("Automation shop")
    visitor.sign_in(account["apiKey"])
    visitor.go("/channels")
    connect_telegram_bot(visitor, token)
    expect(visitor.page.locator("#telegram .bot-username")).to_have_text("@dash_automation_bot")
    visitor.go("/automations")
    page = visitor.page
    assert "Changes take effect within 30 seconds." in page.locator("#takes-effect").inner_text()

    page.get_by_role("link", name="Add an automation").click()
    expect(page.get_by_label("Time zone")).to_be_hidden()  # only for out-of-hours (script hides it)
    page.get_by_label("Kind").select_option("out_of_hours")
    expect(page.get_by_label("Time zone")).to_be_visible()
    assert page.get_by_label("Match").is_hidden()
    page.get_by_label("Kind").select_option("keyword")
    page.get_by_label("Match").fill("price")
    page.get_by_label("Reply").fill(REPLY)
    page.get_by_role("button", name="Add the automation").click()
    expect(page.get_by_role("status")).to_have_text("The automation was added.")
    expect(page.locator("table.automations tbody tr")).to_have_count(1)
    expect(page.locator("table.automations tbody td.prewrap")).to_have_text(REPLY)  # as text, not markup
    page.evaluate(PLACEHOLDERS_SCRIPT)
    page.screenshot(path=SCREENSHOTS / "automations.png", full_page=True)

    chat_id = 4242
    secret = telegram_api.webhooks[bot_id]["secret_token"]
    update = {
        "update_id": 990001,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Ada"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Ada"},
            "text": "Hi! What is the price of the flat?",
        },
    }
    stored = http.post(
        "/api/webhooks/telegram",
        content=json.dumps(update),
        headers={"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"},
    )
    assert stored.status_code == 200, stored.text

    def answered() -> list[dict[str, object]]:
        sent = httpx.get(f"{telegram_api.url}/_sent", params={"chat_id": str(chat_id)}).json()["sent"]
        return [m for m in sent if m.get("text") == REPLY]

    assert wait_until(lambda: bool(answered()), timeout=30), "the automation's reply did not reach Telegram"
    assert visitor.dialogs == [] and visitor.problems() == []


def test_a_session_without_integrations_manage_sees_no_connect_forms_and_is_refused(
    visitor: Visitor, new_account: NewAccount, http: httpx.Client, telegram_api: FakeTelegramBotApi
) -> None:
    account = new_account("Channel reader")
    visitor.sign_in(api_key(http, account, ["leads:read", "conversations:manage"]))

    assert "Channels" not in visitor.nav() and "Automations" in visitor.nav()
    csrf = visitor.page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert visitor.go("/channels") == 403
    assert visitor.page.get_by_role("heading", level=1).inner_text() == "Not allowed"
    assert visitor.page.locator("form[action^='/channels']").count() == 0
    calls_before = len(telegram_api.calls)
    posted = visitor.page.request.post(
        f"{visitor.api}/channels/telegram", form={"telegramBotToken": BOT_TOKEN, "csrf": csrf or ""}
    )
    assert posted.status == 403 and "lacks the &#39;integrations:manage&#39; scope" in posted.text()
    assert len(telegram_api.calls) == calls_before
