"""Telegram through the local stack: connect a bot (loopback Bot API), receive an update with the
secret header, see it through the API and as a signed `message.received` at a subscribed endpoint."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
from standardwebhooks.webhooks import Webhook

from local.fake_providers import FakeTelegramBotApi
from tests.e2e.conftest import TELEGRAM_BOT_TOKEN
from tests.receiver import Receiver

SAMPLE = (
    Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "telegram" / "text-start-official.json"
)
NewAccount = Callable[..., dict[str, str]]


def test_a_telegram_update_is_stored_and_delivered(
    http: httpx.Client, new_account: NewAccount, telegram_api: FakeTelegramBotApi, stack
) -> None:
    account = new_account("Telegram shop")
    keyed = {"X-API-Key": account["apiKey"]}
    connected = http.put(
        "/api/integrations/telegram", json={"telegramBotToken": TELEGRAM_BOT_TOKEN}, headers=keyed
    )
    assert connected.status_code == 200, connected.text
    assert connected.json()["botUsername"] == "acme_leads_bot"
    assert telegram_api.webhook is not None
    assert telegram_api.webhook["url"] == f"{stack.api}/api/webhooks/telegram"
    secret = telegram_api.webhook["secret_token"]

    with Receiver() as receiver:
        endpoint = http.post(
            "/api/webhook-endpoints",
            json={"name": "CRM", "url": receiver.url, "events": ["message.received"]},
            headers=keyed,
        ).json()
        body = SAMPLE.read_bytes()
        wrong = http.post(
            "/api/webhooks/telegram", content=body, headers={"X-Telegram-Bot-Api-Secret-Token": "x"}
        )
        assert wrong.status_code == 401
        stored = http.post(
            "/api/webhooks/telegram", content=body, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
        )
        assert (stored.status_code, stored.json()["outcome"]) == (200, "stored")
        [received] = receiver.wait_for("message.received")

    event = Webhook(endpoint["secret"]).verify(received.body, received.headers)
    assert (event["data"]["channel"], event["data"]["text"]) == ("telegram", "/start")
    [conversation] = http.get("/api/conversations", params={"channel": "telegram"}, headers=keyed).json()[
        "items"
    ]
    assert conversation["conversationId"] == event["data"]["conversationId"]
    lead = http.get(f"/api/leads/{conversation['leadId']}", headers=keyed).json()
    assert (lead["name"], lead["channelIds"]) == ("Test Firstname Test Lastname", {"telegram": "1111111"})
    assert json.loads(received.body)["accountId"] == account["accountId"]

    # A pressed inline button: stored as a button reply, and answered in the webhook's answer.
    press = (SAMPLE.parent / "callback-query-nutgram.json").read_bytes()
    pressed = http.post(
        "/api/webhooks/telegram", content=press, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
    )
    assert (pressed.status_code, pressed.json()) == (
        200,
        {"method": "answerCallbackQuery", "callback_query_id": "666728699048485871"},
    )
    presser = [c for c in http.get("/api/conversations", headers=keyed).json()["items"] if c != conversation]
    messages = http.get(f"/api/conversations/{presser[0]['conversationId']}/messages", headers=keyed).json()
    assert [(m["type"], m["text"]) for m in messages["items"]] == [("button_reply", "thedata")]


def test_a_bot_belongs_to_one_account(
    http: httpx.Client, new_account: NewAccount, telegram_api: FakeTelegramBotApi
) -> None:
    # A bot of its own, so that the order of the tests does not matter.
    token, bot_id = "7000077:AAH-e2e_one_owner", 7000077
    telegram_api.add_bot(token, bot_id, "one_owner_bot")
    owner, other = new_account("Bot owner"), new_account("Someone else")
    bot = {"telegramBotToken": token}

    assert http.put("/api/integrations/telegram", json=bot, headers=keyed(owner)).status_code == 200
    secret = telegram_api.webhooks[bot_id]["secret_token"]
    taken = http.put("/api/integrations/telegram", json=bot, headers=keyed(other))
    assert taken.status_code == 409 and "connected to another account" in taken.json()["error"]
    assert telegram_api.webhooks[bot_id]["secret_token"] == secret  # no setWebhook: the owner keeps it
    assert http.get("/api/integrations/telegram", headers=keyed(owner)).json()["botId"] == str(bot_id)
    again = http.put("/api/integrations/telegram", json=bot, headers=keyed(owner))
    assert again.status_code == 200  # reconnecting one's own bot is fine

    assert http.delete("/api/integrations/telegram", headers=keyed(owner)).status_code == 200
    moved = http.put("/api/integrations/telegram", json=bot, headers=keyed(other))
    assert moved.status_code == 200, moved.text
    assert telegram_api.webhooks[bot_id]["secret_token"] != secret


def keyed(account: dict[str, str]) -> dict[str, str]:
    return {"X-API-Key": account["apiKey"]}
