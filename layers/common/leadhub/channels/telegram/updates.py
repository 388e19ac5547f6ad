"""Telegram bot webhooks: the secret-token header names (and authenticates) the account, and each Update
becomes a stored message, an edit, or nothing. Updates we do not store are still acknowledged with 200,
also those we cannot store (an id too long, see message_limits; the reason is in the receipt): Telegram
holds back a chat's later updates while one of its updates keeps failing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from leadhub.conversations.conversations import record_edit, record_inbound
from leadhub.conversations.models import Channel, ChannelReceipt, Contact, InboundMessage
from leadhub.conversations.ports import ChannelRoute, ChannelRoutes, ConversationStore
from leadhub.platform.errors import InvalidRequest, PayloadTooLarge, Unauthorized, UnstorableInput
from leadhub.platform.ids import token_hash
from leadhub.platform.json_input import NotJson, object_at, read_provider_json
from leadhub.platform.timestamps import from_unix_or, to_iso

MAX_BODY_BYTES = 256 * 1024
_MESSAGE_KINDS = ("message", "channel_post")
_EDIT_KINDS = ("edited_message", "edited_channel_post")
_MEDIA_KINDS = ("photo", "video", "document", "audio", "voice", "animation", "video_note")


def receive_telegram(
    body: bytes,
    secret_token: str | None,
    *,
    routes: ChannelRoutes,
    store: ConversationStore,
    now: datetime,
) -> ChannelReceipt:
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"Body exceeds {MAX_BODY_BYTES} bytes")
    if not secret_token:
        raise Unauthorized("Missing X-Telegram-Bot-Api-Secret-Token header")
    route = routes.find_route(Channel.TELEGRAM, token_hash(secret_token))
    if route is None:
        raise Unauthorized("Unknown X-Telegram-Bot-Api-Secret-Token")
    update = parse_update(body)
    try:
        receipt = _record_update(update, route, store, now)
    except UnstorableInput as exc:
        receipt = ChannelReceipt("ignored", reason=exc.message)
    return replace(receipt, answer=button_press_answer(update))


def button_press_answer(update: Mapping[str, Any]) -> dict[str, str] | None:
    """A pressed inline button (callback query) keeps a progress indicator spinning in the person's app
    until the bot calls answerCallbackQuery; an empty answer stops it. It is made in the webhook's
    answer, which Telegram runs as a Bot API call ("Making requests when getting updates"): at once, with
    no request of ours and no bot token. Stored, duplicate or ignored: the press is answered."""
    query = update.get("callback_query")
    query_id = query.get("id") if isinstance(query, dict) else None
    if not isinstance(query_id, str) or not query_id:
        return None
    return {"method": "answerCallbackQuery", "callback_query_id": query_id}


def _record_update(
    update: Mapping[str, Any], route: ChannelRoute, store: ConversationStore, now: datetime
) -> ChannelReceipt:
    bot_id = route.details.get("botId", "")
    dedupe = f"{bot_id}:{update['update_id']}"
    for kind in _MESSAGE_KINDS:
        if isinstance(update.get(kind), dict):
            inbound = inbound_message(route.account_id, bot_id, update[kind], dedupe, now)
            return _stored(inbound, store, now)
    for kind in _EDIT_KINDS:
        if isinstance(update.get(kind), dict):
            return _edited(route.account_id, bot_id, update[kind], dedupe, store, now)
    if isinstance(update.get("callback_query"), dict):
        inbound = callback_reply(route.account_id, bot_id, update["callback_query"], dedupe, now)
        return _stored(inbound, store, now)
    return ChannelReceipt("ignored")


def parse_update(body: bytes) -> dict[str, Any]:
    try:
        update = read_provider_json(body)
    except NotJson as exc:
        raise InvalidRequest(f"Body is not valid JSON: {exc}") from None
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        raise InvalidRequest("Not a Telegram Update: an object with an integer update_id is required")
    return update


def inbound_message(
    account_id: str, bot_id: str, message: Mapping[str, Any], dedupe: str, now: datetime
) -> InboundMessage | None:
    """The message as we store it, or None when it carries no text or caption (stickers, service
    messages, member updates …)."""
    text = _text(message)
    chat = object_at(message, "chat")
    sender = message.get("from") if isinstance(message.get("from"), dict) else message.get("sender_chat")
    if text is None or not isinstance(sender, dict) or "id" not in sender or "id" not in chat:
        return None
    kind = next((k for k in _MEDIA_KINDS if k in message), "text")
    content: dict[str, Any] = {}
    if kind != "text":
        content = {"fileId": _file_id(message[kind]), "caption": text}
    return InboundMessage(
        account_id=account_id,
        contact=_contact(sender),
        provider_message_id=f"{bot_id}:{chat['id']}:{message.get('message_id')}",
        dedupe_keys=(dedupe,),
        sent_at=from_unix_or(message.get("date"), now),
        type=kind,
        text=text,
        content=content,
        route={"botId": bot_id, "chatId": str(chat["id"])},
    )


def callback_reply(
    account_id: str, bot_id: str, query: Mapping[str, Any], dedupe: str, now: datetime
) -> InboundMessage | None:
    """A pressed inline-keyboard button: stored as a button reply carrying the button's data."""
    sender = query.get("from")
    origin = object_at(query, "message")
    chat = object_at(origin, "chat")
    if not isinstance(sender, dict) or "id" not in sender or "id" not in query:
        return None
    data = query.get("data") if isinstance(query.get("data"), str) else None
    return InboundMessage(
        account_id=account_id,
        contact=_contact(sender),
        provider_message_id=f"{bot_id}:callback:{query['id']}",
        dedupe_keys=(dedupe,),
        sent_at=to_iso(now),  # a callback query carries no time of its own
        type="button_reply",
        text=data,
        content={"id": data, "callbackQueryId": str(query["id"]), "messageId": origin.get("message_id")},
        route={"botId": bot_id, "chatId": str(chat.get("id", sender["id"]))},
    )


def _stored(inbound: InboundMessage | None, store: ConversationStore, now: datetime) -> ChannelReceipt:
    if inbound is None:
        return ChannelReceipt("ignored")
    receipt = record_inbound(inbound, store=store, now=now)
    return ChannelReceipt("stored" if receipt.stored else "duplicate")


def _edited(
    account_id: str,
    bot_id: str,
    message: Mapping[str, Any],
    dedupe: str,
    store: ConversationStore,
    now: datetime,
) -> ChannelReceipt:
    inbound = inbound_message(account_id, bot_id, message, dedupe, now)
    if inbound is None:
        return ChannelReceipt("ignored")
    edited_at = from_unix_or(message.get("edit_date"), now)
    if record_edit(
        account_id, Channel.TELEGRAM, inbound.provider_message_id, inbound.text, edited_at, store=store
    ):
        return ChannelReceipt("edited")
    return _stored(inbound, store, now)  # the original never reached us: keep the edited text


def _text(message: Mapping[str, Any]) -> str | None:
    for field in ("text", "caption"):
        if isinstance(message.get(field), str) and message[field]:
            return str(message[field])
    return None


def _file_id(media: Any) -> str | None:
    if isinstance(media, list) and media:  # photos come in several sizes: the largest is last
        media = media[-1]
    return media.get("file_id") if isinstance(media, dict) else None


def _contact(sender: Mapping[str, Any]) -> Contact:
    parts = [sender.get("first_name"), sender.get("last_name")]
    name = (
        " ".join(p for p in parts if isinstance(p, str) and p)
        or sender.get("title")
        or sender.get("username")
    )
    return Contact(Channel.TELEGRAM, str(sender["id"]), name=name if isinstance(name, str) else None)
