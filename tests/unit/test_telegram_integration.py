"""Connecting Telegram bots with in-memory ports: a bot (by its getMe id) belongs to one account; another
account's connect is refused before Telegram is told anything (no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadhub.channels.integrations import disconnect
from leadhub.channels.telegram.integration import (
    ABANDONED_CLAIM_AFTER,
    TelegramRefused,
    connect_telegram,
    disconnect_telegram,
)
from leadhub.conversations.models import Channel
from leadhub.platform.errors import Conflict, InvalidRequest, ProviderUnavailable
from leadhub.platform.timestamps import to_iso
from tests.fakes import ContextBoundCipher, InMemoryIntegrations

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
BASE_URL = "https://api.leadhub.example"
SHOP_BOT, OTHER_BOT = "7000001:AAH-shop", "7000002:AAH-other"
SHOP_BOT_NEW_TOKEN = "7000001:AAH-revoked-and-new"  # BotFather's /revoke: the same bot, a new token


class BotApi:
    """Telegram's Bot API for a few bots: token → getMe's answer; records every call by method."""

    def __init__(self) -> None:
        self.bots: dict[str, dict[str, Any]] = {
            SHOP_BOT: {"id": 7000001, "username": "shop_bot"},
            SHOP_BOT_NEW_TOKEN: {"id": 7000001, "username": "shop_bot"},
            OTHER_BOT: {"id": 7000002, "username": "other_bot"},
        }
        self.calls: list[tuple[str, str]] = []
        self.webhooks: dict[int, str] = {}  # bot id -> the secret setWebhook was given
        self.refuse_set_webhook: Exception | None = None

    def _bot(self, bot_token: str) -> dict[str, Any]:
        if bot_token not in self.bots:
            raise TelegramRefused("Unauthorized")
        return self.bots[bot_token]

    def get_me(self, bot_token: str) -> dict[str, Any]:
        self.calls.append(("getMe", bot_token))
        return self._bot(bot_token)

    def set_webhook(
        self, bot_token: str, url: str, secret_token: str, allowed_updates: tuple[str, ...]
    ) -> None:
        self.calls.append(("setWebhook", bot_token))
        if self.refuse_set_webhook is not None:
            raise self.refuse_set_webhook
        self.webhooks[self._bot(bot_token)["id"]] = secret_token

    def delete_webhook(self, bot_token: str) -> None:
        self.calls.append(("deleteWebhook", bot_token))
        self.webhooks.pop(self._bot(bot_token)["id"], None)


@pytest.fixture
def bot_api() -> BotApi:
    return BotApi()


@pytest.fixture
def integrations() -> InMemoryIntegrations:
    return InMemoryIntegrations()


def connect(account_id: str, token: str, bot_api: BotApi, integrations: InMemoryIntegrations, now=NOW):
    return connect_telegram(
        account_id,
        token,
        public_base_url=BASE_URL,
        bot_api=bot_api,
        integrations=integrations,
        cipher=ContextBoundCipher(),
        actor="key_1",
        now=now,
    )


def release(account_id: str, bot_api: BotApi, integrations: InMemoryIntegrations) -> None:
    disconnect_telegram(
        account_id,
        bot_api=bot_api,
        integrations=integrations,
        cipher=ContextBoundCipher(),
        actor="key_1",
        now=NOW,
    )


def test_another_accounts_bot_is_409_and_telegram_is_not_told(bot_api, integrations) -> None:
    first = connect("acc_first", SHOP_BOT, bot_api, integrations)
    secret = bot_api.webhooks[7000001]
    bot_api.calls.clear()

    with pytest.raises(Conflict, match="connected to another account"):
        connect("acc_second", SHOP_BOT, bot_api, integrations)

    assert bot_api.calls == [("getMe", SHOP_BOT)]  # no setWebhook: the first account keeps its updates
    assert bot_api.webhooks[7000001] == secret
    assert integrations.get("acc_second", Channel.TELEGRAM) is None
    assert integrations.get("acc_first", Channel.TELEGRAM) == first
    assert integrations.claims[(Channel.TELEGRAM, "7000001")].account_id == "acc_first"


def test_the_same_bot_under_a_new_token_is_still_the_owners_alone(bot_api, integrations) -> None:
    connect("acc_first", SHOP_BOT, bot_api, integrations)
    with pytest.raises(Conflict):
        connect("acc_second", SHOP_BOT_NEW_TOKEN, bot_api, integrations)
    again = connect("acc_first", SHOP_BOT_NEW_TOKEN, bot_api, integrations)
    assert again.claim_key == "7000001" and again.settings["botId"] == "7000001"


def test_reconnecting_the_accounts_own_bot_is_idempotent(bot_api, integrations) -> None:
    first = connect("acc_first", SHOP_BOT, bot_api, integrations)
    second = connect("acc_first", SHOP_BOT, bot_api, integrations)

    assert second.route_key != first.route_key  # a new secret, registered with setWebhook
    assert [m for m, _ in bot_api.calls] == ["getMe", "setWebhook", "getMe", "setWebhook"]
    assert list(integrations.claims) == [(Channel.TELEGRAM, "7000001")]
    assert list(integrations.routes) == [(Channel.TELEGRAM, second.route_key)]


@pytest.mark.parametrize("how", ["telegram", "generic"])
def test_disconnecting_releases_the_bot(bot_api, integrations, how: str) -> None:
    connect("acc_first", SHOP_BOT, bot_api, integrations)
    if how == "telegram":
        release("acc_first", bot_api, integrations)
    else:
        disconnect("acc_first", Channel.TELEGRAM, integrations=integrations, actor="key_1", now=NOW)
    assert integrations.claims == {}

    taken = connect("acc_second", SHOP_BOT, bot_api, integrations)
    assert taken.account_id == "acc_second"


def test_switching_to_another_bot_releases_the_first(bot_api, integrations) -> None:
    connect("acc_first", SHOP_BOT, bot_api, integrations)
    connect("acc_first", OTHER_BOT, bot_api, integrations)
    assert list(integrations.claims) == [(Channel.TELEGRAM, "7000002")]
    assert connect("acc_second", SHOP_BOT, bot_api, integrations).account_id == "acc_second"


@pytest.mark.parametrize(
    "failure", [TelegramRefused("Bad Request: bad webhook"), ProviderUnavailable("Telegram is down")]
)
def test_a_connect_that_fails_after_claiming_gives_the_bot_back(bot_api, integrations, failure) -> None:
    bot_api.refuse_set_webhook = failure
    with pytest.raises((InvalidRequest, ProviderUnavailable)):
        connect("acc_first", SHOP_BOT, bot_api, integrations)
    assert integrations.claims == {} and integrations.get("acc_first", Channel.TELEGRAM) is None

    bot_api.refuse_set_webhook = None
    assert connect("acc_second", SHOP_BOT, bot_api, integrations).account_id == "acc_second"


def test_a_failed_reconnect_keeps_the_bot_connected_and_claimed(bot_api, integrations) -> None:
    connected = connect("acc_first", SHOP_BOT, bot_api, integrations)
    bot_api.refuse_set_webhook = TelegramRefused("Bad Request: bad webhook")
    with pytest.raises(InvalidRequest):
        connect("acc_first", SHOP_BOT, bot_api, integrations)
    assert integrations.get("acc_first", Channel.TELEGRAM) == connected
    bot_api.refuse_set_webhook = None
    with pytest.raises(Conflict):
        connect("acc_second", SHOP_BOT, bot_api, integrations)


def test_a_claim_whose_connect_died_is_free_only_once_abandoned(bot_api, integrations) -> None:
    # A connect that claimed the bot and then died (no save, no release) leaves a pending claim.
    abandoned_before = to_iso(NOW - ABANDONED_CLAIM_AFTER)
    assert integrations.claim(Channel.TELEGRAM, "7000001", "acc_first", to_iso(NOW), abandoned_before)

    with pytest.raises(Conflict):
        connect("acc_second", SHOP_BOT, bot_api, integrations, now=NOW + timedelta(minutes=5))
    later = NOW + ABANDONED_CLAIM_AFTER + timedelta(seconds=1)
    assert connect("acc_second", SHOP_BOT, bot_api, integrations, now=later).account_id == "acc_second"


def test_a_confirmed_claim_is_never_abandoned(bot_api, integrations) -> None:
    connect("acc_first", SHOP_BOT, bot_api, integrations)
    with pytest.raises(Conflict):
        connect("acc_second", SHOP_BOT, bot_api, integrations, now=NOW + timedelta(days=30))


def test_a_getme_answer_without_a_bot_id_is_400_before_anything_is_claimed(bot_api, integrations) -> None:
    bot_api.bots[SHOP_BOT] = {"username": "shop_bot"}
    with pytest.raises(InvalidRequest) as caught:
        connect("acc_first", SHOP_BOT, bot_api, integrations)
    assert caught.value.details[0].field == "telegramBotToken"
    assert bot_api.calls == [("getMe", SHOP_BOT)] and integrations.claims == {}
