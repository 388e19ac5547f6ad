"""Telegram updates: the secret header, what is stored, edited, or acknowledged and ignored (no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from leadhub.channels.telegram.updates import receive_telegram
from leadhub.conversations.models import Channel
from leadhub.conversations.ports import ChannelRoute
from leadhub.platform.errors import InvalidRequest, PayloadTooLarge, Unauthorized
from leadhub.platform.ids import token_hash
from tests.fakes import InMemoryConversations

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "telegram"
SECRET = "s" * 43
ACCOUNT = "acc_tg"
BOT_ID = "7000001"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Routes:
    def __init__(self) -> None:
        self.lookups: list[str] = []

    def find_route(self, channel: Channel, key: str) -> ChannelRoute | None:
        self.lookups.append(key)
        if channel is Channel.TELEGRAM and key == token_hash(SECRET):
            return ChannelRoute(channel, key, ACCOUNT, {"botId": BOT_ID})
        return None


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / f"{name}.json").read_text())


@pytest.fixture
def store() -> InMemoryConversations:
    return InMemoryConversations()


def receive(
    store: InMemoryConversations, update: Any, secret: str | None = SECRET, routes: Routes | None = None
):
    body = update if isinstance(update, bytes) else json.dumps(update).encode()
    return receive_telegram(body, secret, routes=routes or Routes(), store=store, now=NOW).outcome


@pytest.mark.parametrize("secret", [None, "", "wrong-secret"])
def test_a_missing_or_unknown_secret_is_401_and_stores_nothing(store, secret) -> None:
    with pytest.raises(Unauthorized):
        receive(store, sample("text-start-official"), secret=secret)
    assert store.commits == 0


def test_the_secret_is_looked_up_by_its_hash_only(store) -> None:
    routes = Routes()
    receive(store, sample("text-start-official"), routes=routes)
    assert routes.lookups == [token_hash(SECRET)]


def test_a_text_message_is_stored_with_its_lead_and_conversation(store) -> None:
    assert receive(store, sample("text-start-official")) == "stored"
    [lead] = store.lead_store.leads.values()
    assert (lead.name, lead.phone, dict(lead.channel_ids), lead.source) == (
        "Test Firstname Test Lastname",
        None,
        {"telegram": "1111111"},
        "telegram",
    )
    [conversation] = store.conversations.values()
    assert dict(conversation.route) == {"botId": BOT_ID, "chatId": "1111111"}
    [message] = store.messages.values()
    assert (message.text, message.type, message.sent_at, message.provider_message_id) == (
        "/start",
        "text",
        "2015-09-07T17:05:32.000Z",
        f"{BOT_ID}:1111111:1365",
    )


def test_a_redelivered_update_is_a_duplicate(store) -> None:
    receive(store, sample("text-start-official"))
    assert receive(store, sample("text-start-official")) == "duplicate"
    assert len(store.messages) == 1


def test_update_ids_may_jump(store) -> None:
    first, later = sample("text-start-official"), sample("text-start-official")
    later["update_id"] = 98765432
    later["message"]["message_id"] = 1400
    assert [receive(store, first), receive(store, later)] == ["stored", "stored"]
    [conversation] = store.conversations.values()
    assert conversation.message_count == 2


def test_an_edit_updates_the_stored_message(store) -> None:
    receive(store, sample("text-start-official"))
    edit = sample("edited-message-official")
    edit["update_id"] = 10001  # the documentation reuses the original's id; Telegram never does
    assert receive(store, edit) == "edited"
    [message] = store.messages.values()
    assert (message.text, message.edited_at) == ("Edited text", "2015-09-07T17:23:20.000Z")
    assert receive(store, edit) == "edited"  # the same edit again changes nothing
    assert len(store.messages) == 1


def test_an_edit_of_a_message_we_never_saw_is_stored_as_new(store) -> None:
    assert receive(store, sample("edited-message-official")) == "stored"
    [message] = store.messages.values()
    assert message.text == "Edited text"


def test_a_caption_counts_as_text(store) -> None:
    assert receive(store, sample("photo-caption-nutgram")) == "stored"
    [message] = store.messages.values()
    assert (message.type, message.text, dict(message.content)) == (
        "photo",
        "asdasdasdasdasdasd",
        {"fileId": "SEES", "caption": "asdasdasdasdasdasd"},
    )


def test_a_button_press_is_stored_as_a_button_reply(store) -> None:
    assert receive(store, sample("callback-query-nutgram")) == "stored"
    [message] = store.messages.values()
    assert (message.type, message.text) == ("button_reply", "thedata")
    assert dict(message.content) == {
        "id": "thedata",
        "callbackQueryId": "666728699048485871",
        "messageId": 69587,
    }
    [lead] = store.lead_store.leads.values()
    assert dict(lead.channel_ids) == {"telegram": "222222222"}


def test_a_channel_post_is_stored(store) -> None:
    post = {
        "update_id": 5,
        "channel_post": {
            "message_id": 9,
            "date": 1700000000,
            "chat": {"id": -100123, "type": "channel", "title": "Acme news"},
            "sender_chat": {"id": -100123, "type": "channel", "title": "Acme news"},
            "text": "New listing",
        },
    }
    assert receive(store, post) == "stored"
    [lead] = store.lead_store.leads.values()
    assert (lead.name, dict(lead.channel_ids)) == ("Acme news", {"telegram": "-100123"})


@pytest.mark.parametrize(
    "update",
    [
        {
            "update_id": 1,
            "message": {"message_id": 1, "date": 1, "chat": {"id": 1}, "from": {"id": 1}, "sticker": {}},
        },
        {
            "update_id": 2,
            "message": {"message_id": 2, "date": 1, "chat": {"id": 1}, "new_chat_members": [{"id": 3}]},
        },
        {"update_id": 3, "my_chat_member": {"chat": {"id": 1}, "from": {"id": 1}}},
        {"update_id": 4, "poll": {"id": "p"}},
        {"update_id": 5, "message": "not an object"},
        {"update_id": 6},
    ],
)
def test_everything_else_is_acknowledged_and_ignored(store, update) -> None:
    assert receive(store, update) == "ignored"
    assert store.commits == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "Body is not valid JSON"),
        (b"[]", "integer update_id"),
        (b'{"update_id": "1"}', "integer update_id"),
    ],
)
def test_bodies_that_are_not_updates_are_400(store, body, message) -> None:
    with pytest.raises(InvalidRequest, match=message):
        receive(store, body)


def test_oversized_bodies_are_413(store) -> None:
    with pytest.raises(PayloadTooLarge):
        receive(store, b" " * (256 * 1024 + 1))


def test_a_button_press_is_answered_whatever_became_of_it(store) -> None:
    def answer(update: Any) -> Any:
        return receive_telegram(json.dumps(update).encode(), SECRET, routes=Routes(), store=store, now=NOW)

    press = sample("callback-query-nutgram")
    expected = {"method": "answerCallbackQuery", "callback_query_id": "666728699048485871"}
    stored, duplicate = answer(press), answer(press)
    assert (stored.outcome, duplicate.outcome) == ("stored", "duplicate")
    assert stored.to_public() == duplicate.to_public() == expected
    unstorable = sample("callback-query-nutgram")
    unstorable["update_id"] += 1
    unstorable["callback_query"]["from"]["id"] = "7" * 300  # an id too long to store: ignored
    ignored = answer(unstorable)
    assert (ignored.outcome, ignored.to_public()) == ("ignored", expected)
    assert answer(sample("text-start-official")).to_public() == {"received": True, "outcome": "stored"}
    no_id = sample("callback-query-nutgram")
    no_id["update_id"] += 2
    no_id["callback_query"]["id"] = 12  # not a query id Telegram would send: nothing to answer
    assert answer(no_id).answer is None
