"""The leads and inbox pages in a real browser (Debian's Chromium, Playwright) on the local stack: a person
writes to a connected Telegram bot and the conversation appears in the open inbox without a reload; an
agent replies from the thread and the fake Bot API receives it; strangers' words render as text; a
`leads:read` session sees leads but cannot write. Also the README's screenshots of these pages."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from local.fake_providers import FakeTelegramBotApi
from tests.e2e.browsing import PLACEHOLDERS_SCRIPT, SCREENSHOTS, Visitor, api_key
from tests.e2e.conftest import wait_until
from tests.e2e.test_dashboard import SCRIPT_NAME
from tests.stack_process import StackProcess

SAMPLE = (
    Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "telegram" / "text-start-official.json"
)
NewAccount = Callable[..., dict[str, str]]
_bot_ids = itertools.count(7_100_001)
_update_ids = itertools.count(880_000)


class Bot:
    """A Telegram bot of its own connected to `account` (so tests run in any order), and people writing
    to it as Telegram posts their updates: to the webhook Leadhub registered, with its secret."""

    def __init__(self, http: httpx.Client, fake: FakeTelegramBotApi, account: dict[str, str]) -> None:
        self.http, self.fake = http, fake
        self.bot_id = next(_bot_ids)
        token = f"{self.bot_id}:AAH-e2e_dashboard_inbox"
        fake.add_bot(token, self.bot_id, f"inbox_{self.bot_id}_bot")
        connected = http.put(
            "/api/integrations/telegram",
            json={"telegramBotToken": token},
            headers={"X-API-Key": account["apiKey"]},
        )
        assert connected.status_code == 200, connected.text
        self.secret = fake.webhooks[self.bot_id]["secret_token"]

    def person_writes(self, user_id: int, name: str, text: str) -> None:
        update = json.loads(SAMPLE.read_text())
        update["update_id"] = next(_update_ids)
        message = update["message"]
        message["message_id"] = update["update_id"]
        for person in (message["chat"], message["from"]):
            person.update(id=user_id, first_name=name)
            person.pop("last_name")
            person.pop("username")
        message["text"] = text
        stored = self.http.post(
            "/api/webhooks/telegram",
            content=json.dumps(update),
            headers={"X-Telegram-Bot-Api-Secret-Token": self.secret, "Content-Type": "application/json"},
        )
        assert (stored.status_code, stored.json().get("outcome")) == (200, "stored"), stored.text

    def sent_to(self, user_id: int) -> list[str]:
        """What Leadhub sent to the person, as the fake Bot API's /_sent reports it."""
        sent = self.http.get(f"{self.fake.url}/_sent", params={"chat_id": str(user_id)}).json()["sent"]
        return [str(m["text"]) for m in sent]


def test_a_conversation_appears_in_the_open_inbox_and_an_agent_replies_from_its_thread(
    visitor: Visitor, http: httpx.Client, new_account: NewAccount, telegram_api: FakeTelegramBotApi
) -> None:
    account = new_account("Browser Inbox")
    bot = Bot(http, telegram_api, account)
    visitor.sign_in(account["apiKey"])
    visitor.go("/inbox")
    visitor.page.evaluate("window.stayedOnThisPage = true")  # gone if the page were reloaded

    bot.person_writes(4242, SCRIPT_NAME, f"Is the flat still free? {SCRIPT_NAME}")

    row_link = visitor.page.get_by_role("link", name=SCRIPT_NAME)
    row_link.wait_for(timeout=20_000)  # polled every few seconds
    assert visitor.page.evaluate("window.stayedOnThisPage") is True
    assert visitor.page.get_by_role("status").filter(has_text="1 new conversation").count() == 1
    assert visitor.page.get_by_role("cell", name=f"Is the flat still free? {SCRIPT_NAME}").is_visible()

    row_link.click()
    visitor.page.wait_for_url("**/inbox/conv_*")
    thread = visitor.page.locator("ol.thread")
    assert thread.get_by_text(f"Is the flat still free? {SCRIPT_NAME}").is_visible()
    visitor.page.get_by_label(f"Your message to {SCRIPT_NAME}").fill("Yes! When would you like to visit?")
    visitor.page.get_by_role("button", name="Send").click()

    visitor.page.wait_for_url("**?done=sent*")
    assert wait_until(lambda: "Yes! When would you like to visit?" in bot.sent_to(4242), timeout=20)
    mine = thread.locator("li.message-outbound").filter(has_text="Yes! When would you like to visit?")
    mine.locator(".status", has_text="sent").wait_for(timeout=20_000)  # queued → sent, without a reload
    visitor.page.evaluate("window.stayedOnThisPage = true")
    bot.person_writes(4242, SCRIPT_NAME, "Tomorrow at 10?")
    thread.get_by_text("Tomorrow at 10?").wait_for(timeout=20_000)
    assert visitor.page.evaluate("window.stayedOnThisPage") is True

    visitor.page.get_by_role("button", name="Take over").click()
    assert "automatic replies are off" in visitor.page.get_by_role("status").first.inner_text()
    visitor.page.get_by_role("button", name="Close the conversation").click()
    assert visitor.page.get_by_label("Your message to").count() == 0  # closed: nothing to reply to
    assert visitor.dialogs == [] and visitor.problems() == []


def test_a_script_bearing_lead_renders_as_text_on_the_leads_pages_and_is_found(
    visitor: Visitor, http: httpx.Client, new_account: NewAccount
) -> None:
    account = new_account("Browser Leads XSS")
    lead = {"name": SCRIPT_NAME, "phone": "+14155550177", "email": "x@example.com", "note": SCRIPT_NAME}
    assert http.post(account["webhookUrl"], json={**lead, "tags": [SCRIPT_NAME]}).status_code == 201
    assert (
        http.post(account["webhookUrl"], json={"name": "Grace", "phone": "+14155550178"}).status_code == 201
    )
    visitor.sign_in(account["apiKey"])
    visitor.go("/leads")

    visitor.page.get_by_label("Search by name, phone or email").fill("(415) 555-0177")
    visitor.page.get_by_role("button", name="Search").click()

    assert visitor.page.get_by_role("link", name="Grace").count() == 0
    visitor.page.get_by_role("link", name=SCRIPT_NAME).click()
    assert visitor.page.get_by_role("heading", level=1).inner_text() == SCRIPT_NAME
    assert visitor.page.get_by_role("row", name=f"note {SCRIPT_NAME}").is_visible()
    assert visitor.page.get_by_role("listitem").filter(has_text=SCRIPT_NAME).count() == 1  # the tag
    assert visitor.dialogs == [] and visitor.problems() == []


def test_a_leads_read_session_sees_leads_but_no_inbox_and_cannot_reply(
    visitor: Visitor, http: httpx.Client, new_account: NewAccount, telegram_api: FakeTelegramBotApi
) -> None:
    account = new_account("Browser Inbox Reader")
    Bot(http, telegram_api, account).person_writes(5151, "Ada", "Hello?")
    keyed = {"X-API-Key": account["apiKey"]}
    [conversation] = http.get("/api/conversations", headers=keyed).json()["items"]
    visitor.sign_in(api_key(http, account, ["leads:read"]))

    assert visitor.nav() == ["Overview", "Leads"]
    visitor.go("/leads")
    visitor.page.get_by_role("link", name="Ada").click()
    assert visitor.page.get_by_role("heading", name="Messages").count() == 0
    csrf = visitor.page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert visitor.go(f"/inbox/{conversation['conversationId']}") == 403
    assert visitor.page.get_by_role("button", name="Send").count() == 0
    refused = visitor.page.request.post(
        f"{visitor.api}/inbox/{conversation['conversationId']}/reply",
        form={"text": "Sneaky", "csrf": csrf or ""},
        headers={"Origin": visitor.api},
    )
    assert refused.status == 403
    messages = http.get(f"/api/conversations/{conversation['conversationId']}/messages", headers=keyed)
    assert [m["text"] for m in messages.json()["items"]] == ["Hello?"]


def test_the_leads_and_inbox_pages_at_phone_width_and_their_screenshots(
    browser: Any,
    stack: StackProcess,
    http: httpx.Client,
    new_account: NewAccount,
    telegram_api: FakeTelegramBotApi,
) -> None:
    account = new_account("Acme Realty")
    for name, phone, tags in (
        ("Ada Lovelace", "+14155550123", ["buyer", "downtown"]),
        ("Grace Hopper", "+442079460958", ["seller"]),
    ):
        lead = {"name": name, "phone": phone, "email": f"{name.split()[0].lower()}@example.com", "tags": tags}
        assert http.post(account["webhookUrl"], json={**lead, "budget": "450k"}).status_code == 201
    bot = Bot(http, telegram_api, account)
    bot.person_writes(6001, "Margaret", "Hi! Is the two-bedroom on Elm Street still available?")
    keyed = {"X-API-Key": account["apiKey"]}
    [conversation] = http.get("/api/conversations", headers=keyed).json()["items"]
    path = f"/api/conversations/{conversation['conversationId']}/messages"
    sent = http.post(path, json={"text": "It is! Would you like to see it this week?"}, headers=keyed)
    assert sent.status_code == 202

    def answered() -> bool:  # the same status in every screenshot: sent, as Leadhub recorded it
        return [m["status"] for m in http.get(path, headers=keyed).json()["items"]] == ["received", "sent"]

    assert wait_until(answered, timeout=20)
    lead_id = http.get("/api/leads", headers=keyed).json()["items"][-1]["leadId"]  # the oldest: Ada
    shots = {
        "leads": "/leads",
        "lead": f"/leads/{lead_id}",
        "inbox": "/inbox",
        "conversation": f"/inbox/{conversation['conversationId']}",
    }
    for width, suffix in ((1100, ""), (390, "-phone")):
        context = browser.new_context(viewport={"width": width, "height": 760})
        visitor = Visitor(context, stack.api)
        visitor.sign_in(account["apiKey"])
        for name, page_path in shots.items():
            assert visitor.go(page_path) == 200, page_path
            overflow = visitor.page.evaluate("document.documentElement.scrollWidth - innerWidth")
            assert overflow <= 0, (name, width)
            if suffix and name not in ("inbox", "conversation"):
                continue
            visitor.page.evaluate(PLACEHOLDERS_SCRIPT)
            visitor.page.screenshot(path=SCREENSHOTS / f"{name}{suffix}.png", full_page=True)
        assert visitor.problems() == []
        context.close()
    for shot in SCREENSHOTS.glob("*.png"):
        assert shot.stat().st_size < 200_000, shot.name
