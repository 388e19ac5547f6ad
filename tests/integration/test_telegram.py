"""Telegram inside moto: connecting a bot against a loopback Bot API (we register the webhook with a
generated secret), updates through the real handler, and disconnecting."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from local.fake_providers import FakeTelegramBotApi
from tests.integration.conftest import Account, Api, HttpResult, Stack, http_event, invoke

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "telegram"
BOT_TOKEN = "7000001:AAH-test_token"
ROUTE = "POST /api/webhooks/telegram"


@pytest.fixture
def bot_api() -> Iterator[FakeTelegramBotApi]:
    fake = FakeTelegramBotApi(BOT_TOKEN)
    yield fake
    fake.close()


@pytest.fixture
def channel_api(stack: Stack, bot_api: FakeTelegramBotApi) -> Api:
    api = Api(stack)
    api.management = stack.load_function("ManagementApiFunction", TELEGRAM_API_BASE_URL=bot_api.url)
    return api


@pytest.fixture
def telegram(stack: Stack) -> ModuleType:
    return stack.load_function("TelegramWebhookFunction")


def connect(api: Api, account: Account, token: str = BOT_TOKEN) -> HttpResult:
    return api.call(
        "PUT", "/api/integrations/telegram", api_key=account.api_key, json_body={"telegramBotToken": token}
    )


def post(module: ModuleType, update: Any, secret: str | None) -> HttpResult:
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers["x-telegram-bot-api-secret-token"] = secret
    body = json.dumps(update).encode()
    return invoke(
        module, http_event("POST", "/api/webhooks/telegram", route_key=ROUTE, headers=headers, body=body)
    )


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / f"{name}.json").read_text())


def test_connecting_checks_the_token_and_registers_the_webhook_with_a_secret(
    stack: Stack, channel_api: Api, bot_api: FakeTelegramBotApi
) -> None:
    account = channel_api.create_account()
    result = connect(channel_api, account)

    assert result.status == 200, result.body
    webhook_url = "https://id.execute-api.us-east-1.amazonaws.com/api/webhooks/telegram"
    assert result.body == {
        "channel": "telegram",
        "botId": "7000001",
        "botUsername": "acme_leads_bot",
        "webhookUrl": webhook_url,
        "connectedAt": result.body["connectedAt"],
    }
    assert [c.path.rsplit("/", 1)[1] for c in bot_api.calls] == ["getMe", "setWebhook"]
    assert bot_api.webhook is not None
    secret = bot_api.webhook["secret_token"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,256}", secret)
    assert bot_api.webhook["url"] == webhook_url
    assert "callback_query" in bot_api.webhook["allowed_updates"]
    stored = json.dumps(stack.items(), default=str)
    assert secret not in stored and BOT_TOKEN not in stored


def test_a_token_telegram_refuses_is_400_with_telegrams_description(
    stack: Stack, channel_api: Api, bot_api: FakeTelegramBotApi
) -> None:
    account = channel_api.create_account()
    result = connect(channel_api, account, token="7000001:AAH-revoked")
    assert result.status == 400
    assert result.body["details"] == [{"field": "telegramBotToken", "message": "Telegram: Unauthorized"}]
    assert stack.entities("integration") == [] and bot_api.webhook is None


@pytest.mark.parametrize(
    "token", ["", "not-a-token", "123:abc/../../x", "123:abcé", "123:abc\r\nX: y", "١٢٣:abc"]
)
def test_tokens_of_the_wrong_shape_are_400_without_calling_telegram(
    channel_api: Api, bot_api: FakeTelegramBotApi, token: str
) -> None:
    account = channel_api.create_account()
    assert connect(channel_api, account, token=token).status == 400
    assert bot_api.calls == []


def test_updates_with_the_secret_are_stored_and_others_refused(
    stack: Stack, channel_api: Api, bot_api: FakeTelegramBotApi, telegram: ModuleType
) -> None:
    account = channel_api.create_account()
    connect(channel_api, account)
    assert bot_api.webhook is not None
    secret = bot_api.webhook["secret_token"]

    assert post(telegram, sample("text-start-official"), None).status == 401
    assert post(telegram, sample("text-start-official"), "wrong").status == 401
    assert stack.entities("message") == []
    stored = post(telegram, sample("text-start-official"), secret)
    assert (stored.status, stored.body) == (200, {"received": True, "outcome": "stored"})
    again = post(telegram, sample("text-start-official"), secret)
    assert again.body["outcome"] == "duplicate"
    sticker = {"update_id": 10002, "message": {"message_id": 2, "date": 1, "chat": {"id": 1}, "sticker": {}}}
    assert post(telegram, sticker, secret).body["outcome"] == "ignored"

    [conversation] = channel_api.call("GET", "/api/conversations", api_key=account.api_key).body["items"]
    assert conversation["channel"] == "telegram"
    cid = conversation["conversationId"]
    messages = channel_api.call("GET", f"/api/conversations/{cid}/messages", api_key=account.api_key).body
    assert [m["text"] for m in messages["items"]] == ["/start"]


def test_disconnecting_deletes_the_webhook_and_the_secret_stops_working(
    stack: Stack, channel_api: Api, bot_api: FakeTelegramBotApi
) -> None:
    account = channel_api.create_account()
    connect(channel_api, account)
    assert bot_api.webhook is not None
    secret = bot_api.webhook["secret_token"]

    result = channel_api.call("DELETE", "/api/integrations/telegram", api_key=account.api_key)

    assert result.status == 200 and bot_api.webhook is None
    fresh = stack.load_function("TelegramWebhookFunction")
    assert post(fresh, sample("text-start-official"), secret).status == 401
    assert channel_api.call("GET", "/api/integrations/telegram", api_key=account.api_key).status == 404


def test_reconnecting_replaces_the_secret(
    stack: Stack, channel_api: Api, bot_api: FakeTelegramBotApi
) -> None:
    account = channel_api.create_account()
    connect(channel_api, account)
    assert bot_api.webhook is not None
    old = bot_api.webhook["secret_token"]
    connect(channel_api, account)
    new = bot_api.webhook["secret_token"]
    fresh = stack.load_function("TelegramWebhookFunction")
    assert new != old
    assert post(fresh, sample("text-start-official"), old).status == 401
    assert post(fresh, sample("text-start-official"), new).status == 200
    assert len(stack.entities("route")) == 1
