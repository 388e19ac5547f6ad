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

from leadhub.adapters.dynamodb_integrations import DynamoIntegrations
from leadhub.models.conversation import Channel
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


def claims(stack: Stack) -> dict[str, str]:
    """Who holds which bot: the claims' keys and accounts."""
    return {c["pk"]["S"]: c["accountId"]["S"] for c in stack.entities("claim")}


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


def test_a_bot_connected_to_another_account_is_409_and_its_webhook_stays(
    stack: Stack, channel_api: Api, bot_api: FakeTelegramBotApi, telegram: ModuleType
) -> None:
    owner, other = channel_api.create_account("Owner"), channel_api.create_account("Other")
    assert connect(channel_api, owner).status == 200
    assert bot_api.webhook is not None
    secret = bot_api.webhook["secret_token"]
    calls_before = len(bot_api.calls)

    taken = connect(channel_api, other)

    assert taken.status == 409, taken.body
    assert "connected to another account" in taken.body["error"]
    assert [c.path.rsplit("/", 1)[1] for c in bot_api.calls[calls_before:]] == ["getMe"]
    assert bot_api.webhook["secret_token"] == secret
    assert channel_api.call("GET", "/api/integrations/telegram", api_key=other.api_key).status == 404
    [claim] = stack.entities("claim")
    assert (claim["accountId"]["S"], claim["pending"]["BOOL"]) == (owner.account_id, False)
    # The owner still receives its bot's updates.
    assert post(telegram, sample("text-start-official"), secret).body["outcome"] == "stored"
    owners = channel_api.call("GET", "/api/conversations", api_key=owner.api_key).body["items"]
    assert len(owners) == 1
    assert channel_api.call("GET", "/api/conversations", api_key=other.api_key).body["items"] == []


def test_the_owner_may_reconnect_with_a_new_token_of_the_same_bot_others_may_not(
    stack: Stack, channel_api: Api, bot_api: FakeTelegramBotApi
) -> None:
    new_token = "7000001:AAH-after_revoke"
    bot_api.add_bot(new_token, 7000001, "acme_leads_bot")
    owner, other = channel_api.create_account("Owner"), channel_api.create_account("Other")
    assert connect(channel_api, owner).status == 200
    assert connect(channel_api, other, token=new_token).status == 409
    reconnected = connect(channel_api, owner, token=new_token)
    assert (reconnected.status, reconnected.body["botId"]) == (200, "7000001")
    assert claims(stack) == {"CLAIM#telegram#7000001": owner.account_id}


def test_disconnecting_releases_the_bot_for_another_account(
    stack: Stack, channel_api: Api, bot_api: FakeTelegramBotApi
) -> None:
    owner, other = channel_api.create_account("Owner"), channel_api.create_account("Other")
    assert connect(channel_api, owner).status == 200
    assert channel_api.call("DELETE", "/api/integrations/telegram", api_key=owner.api_key).status == 200
    assert stack.entities("claim") == []
    assert connect(channel_api, other).status == 200
    assert claims(stack) == {"CLAIM#telegram#7000001": other.account_id}


def test_switching_the_account_to_another_bot_releases_the_first(
    stack: Stack, channel_api: Api, bot_api: FakeTelegramBotApi
) -> None:
    bot_api.add_bot("7000002:AAH-second_bot", 7000002, "acme_support_bot")
    owner, other = channel_api.create_account("Owner"), channel_api.create_account("Other")
    assert connect(channel_api, owner).status == 200
    assert connect(channel_api, owner, token="7000002:AAH-second_bot").status == 200
    assert connect(channel_api, other).status == 200
    assert claims(stack) == {
        "CLAIM#telegram#7000001": other.account_id,
        "CLAIM#telegram#7000002": owner.account_id,
    }


def test_a_refused_set_webhook_leaves_no_claim(
    stack: Stack, channel_api: Api, bot_api: FakeTelegramBotApi
) -> None:
    refusal = {"ok": False, "error_code": 400, "description": "Bad Request: bad webhook"}
    bot_api.route("POST", r"/bot[^/]+/setWebhook", lambda call, match: (400, refusal))
    account = channel_api.create_account()
    result = connect(channel_api, account)
    assert result.status == 400
    message = "Telegram: Bad Request: bad webhook"
    assert result.body["details"] == [{"field": "telegramBotToken", "message": message}]
    assert stack.entities("claim") == [] and stack.entities("integration") == []


def test_a_pending_claim_is_taken_over_only_once_abandoned_and_a_confirmed_one_never(
    stack: Stack, channel_api: Api
) -> None:
    store = DynamoIntegrations(stack.table_name)
    at, later = "2026-11-23T09:00:00.000Z", "2026-11-23T09:20:00.000Z"
    before, after = "2026-11-23T08:45:00.000Z", "2026-11-23T09:05:00.000Z"  # when to count it abandoned
    assert store.claim(Channel.TELEGRAM, "7000009", "acc_died", at, abandoned_before=before)
    # Another account, while the claim could still be a connect in progress: refused.
    assert not store.claim(Channel.TELEGRAM, "7000009", "acc_new", at, before)
    # ... and after it was abandoned: taken, still pending until a save confirms it.
    assert store.claim(Channel.TELEGRAM, "7000009", "acc_new", later, after)
    assert claims(stack) == {"CLAIM#telegram#7000009": "acc_new"}
    store.release(Channel.TELEGRAM, "7000009", "acc_died")  # not the holder: nothing happens
    assert claims(stack) == {"CLAIM#telegram#7000009": "acc_new"}

    owner = channel_api.create_account()
    assert connect(channel_api, owner).status == 200
    assert not store.claim(Channel.TELEGRAM, "7000001", "acc_new", "2027-01-01T00:00:00.000Z", "2027-01-01")


def test_odd_but_storable_updates_are_stored_bounded_and_unstorable_ones_ignored(
    stack: Stack, channel_api: Api, bot_api: FakeTelegramBotApi, telegram: ModuleType
) -> None:
    connect(channel_api, channel_api.create_account())
    assert bot_api.webhook is not None
    secret = bot_api.webhook["secret_token"]

    def update(n: int, **message: Any) -> dict[str, Any]:
        base = sample("text-start-official")
        base["update_id"] = 20_000 + n
        base["message"].update(message_id=n, **message)
        return base

    outcomes = [
        post(telegram, update(1, text="hi \ud800"), secret).body,  # a lone surrogate
        post(telegram, update(2, date=1441645532.75), secret).body,  # a float timestamp
        post(telegram, update(3, text="x" * 100_000), secret).body,
        post(telegram, update(4, chat={"id": "9" * 300, "type": "private"}), secret).body,  # an id too long
    ]

    assert [o["outcome"] for o in outcomes] == ["stored", "stored", "stored", "ignored"]
    texts = {
        int(m["providerMessageId"]["S"].rsplit(":", 1)[1]): m["text"]["S"] for m in stack.entities("message")
    }
    assert texts[1] == "hi \ufffd" and texts[2] == "/start"
    assert texts[3].endswith("…[truncated]") and len(texts[3]) == 20_000
    assert sorted(texts) == [1, 2, 3]


def test_a_body_beyond_the_parser_limits_is_400_after_the_secret_check(
    stack: Stack, channel_api: Api, bot_api: FakeTelegramBotApi, telegram: ModuleType
) -> None:
    connect(channel_api, channel_api.create_account())
    assert bot_api.webhook is not None
    deep = b'{"update_id": 1, "message": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    headers = {"x-telegram-bot-api-secret-token": bot_api.webhook["secret_token"]}
    event = http_event("POST", "/api/webhooks/telegram", route_key=ROUTE, headers=headers, body=deep)
    assert invoke(telegram, event).status == 400
    headers["x-telegram-bot-api-secret-token"] = "wrong"
    event = http_event("POST", "/api/webhooks/telegram", route_key=ROUTE, headers=headers, body=deep)
    assert invoke(telegram, event).status == 401
    assert stack.entities("message") == []
