"""Conversations and messages in the single table; every key embeds the account id, so no account can
read another's items.

- conversation: ACCOUNT#{a}#CONV#{c} / CONV; gsi1 (ACCOUNT#{a}#CONVS) lists them by last activity.
- message: its conversation's partition, sk MSG#{sentAt}#{receivedAt}#{messageId} (the provider's order).
- provider message index: PROVIDERMSG#{a}#{channel}#{providerMessageId} → the message, for status
  reports and edits; its conditional put also deduplicates.
- held status: HELDSTATUS#{a}#{channel}#{providerMessageId} / HELDSTATUS → the furthest status reported
  before we recorded the message by that id (expires after a day).
- dedupe marker: INBOUND#{a}#{channel}#{key}, for provider delivery ids (expires after 30 days).
- lead identity: ACCOUNT#{a}#IDENTITY#{channel}#{key} / IDENTITY → the lead of an identity its id does
  not derive from (a WhatsApp business-scoped user id)."""

from __future__ import annotations

from typing import Any

from leadhub.conversations.models import (
    Channel,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
)
from leadhub.platform.adapters.dynamodb_items import account_pk, from_stream_image, key_values

CONVERSATION_ENTITY = "conversation"
MESSAGE_ENTITY = "message"


def conversation_pk(account_id: str, conversation_id: str) -> str:
    return f"{account_pk(account_id)}#CONV#{conversation_id}"


def conversation_key(account_id: str, conversation_id: str) -> dict[str, Any]:
    return {"pk": {"S": conversation_pk(account_id, conversation_id)}, "sk": {"S": "CONV"}}


def conversations_index_pk(account_id: str) -> str:
    return f"{account_pk(account_id)}#CONVS"


def conversation_to_values(conversation: Conversation) -> dict[str, Any]:
    return {
        "pk": conversation_pk(conversation.account_id, conversation.conversation_id),
        "sk": "CONV",
        "gsi1pk": conversations_index_pk(conversation.account_id),
        "gsi1sk": f"{conversation.last_activity_at}#{conversation.conversation_id}",
        "entity": CONVERSATION_ENTITY,
        "accountId": conversation.account_id,
        "conversationId": conversation.conversation_id,
        "leadId": conversation.lead_id,
        "channel": conversation.channel.value,
        "status": conversation.status.value,
        "createdAt": conversation.created_at,
        "lastActivityAt": conversation.last_activity_at,
        "route": dict(conversation.route),
        "messageCount": conversation.message_count,
        "autoReply": conversation.auto_reply,
        "closedAt": conversation.closed_at,
        "unreachableAt": conversation.unreachable_at,
        "unreachableReason": conversation.unreachable_reason,
        "lastMessage": dict(conversation.last_message) or None,
    }


def values_to_conversation(values: dict[str, Any]) -> Conversation:
    return Conversation(
        account_id=values["accountId"],
        conversation_id=values["conversationId"],
        lead_id=values["leadId"],
        channel=Channel(values["channel"]),
        status=ConversationStatus(values["status"]),
        created_at=values["createdAt"],
        last_activity_at=values["lastActivityAt"],
        route=values.get("route", {}),
        message_count=int(values.get("messageCount", 0)),
        auto_reply=bool(values.get("autoReply", True)),
        closed_at=values.get("closedAt"),
        unreachable_at=values.get("unreachableAt"),
        unreachable_reason=values.get("unreachableReason"),
        last_message=values.get("lastMessage", {}),
    )


def message_sk(message: Message) -> str:
    return f"MSG#{message.sent_at}#{message.received_at}#{message.message_id}"


def message_to_values(message: Message) -> dict[str, Any]:
    return {
        "pk": conversation_pk(message.account_id, message.conversation_id),
        "sk": message_sk(message),
        "entity": MESSAGE_ENTITY,
        "accountId": message.account_id,
        "conversationId": message.conversation_id,
        "messageId": message.message_id,
        "leadId": message.lead_id,
        "channel": message.channel.value,
        "direction": message.direction.value,
        "type": message.type,
        "sentAt": message.sent_at,
        "receivedAt": message.received_at,
        "status": message.status,
        "statusAt": message.status_at,
        "providerMessageId": message.provider_message_id,
        "text": message.text,
        "content": dict(message.content) or None,
        "errors": [dict(e) for e in message.errors] or None,
        "editedAt": message.edited_at,
    }


def values_to_message(values: dict[str, Any]) -> Message:
    return Message(
        account_id=values["accountId"],
        conversation_id=values["conversationId"],
        message_id=values["messageId"],
        lead_id=values["leadId"],
        channel=Channel(values["channel"]),
        direction=Direction(values["direction"]),
        type=values["type"],
        sent_at=values["sentAt"],
        received_at=values["receivedAt"],
        status=values["status"],
        status_at=values.get("statusAt"),
        provider_message_id=values["providerMessageId"],
        text=values.get("text"),
        content=values.get("content", {}),
        errors=tuple(values.get("errors", ())),
        edited_at=values.get("editedAt"),
    )


def pointer_values(key: dict[str, Any], entity: str, message: Message) -> dict[str, Any]:
    """An item at `key` that names where `message` is stored."""
    return {
        **key_values(key),
        "entity": entity,
        "messagePk": conversation_pk(message.account_id, message.conversation_id),
        "messageSk": message_sk(message),
    }


def reply_marker_key(inbound: Message) -> dict[str, Any]:
    return {"pk": {"S": f"REPLY#{inbound.account_id}#{inbound.message_id}"}, "sk": {"S": "REPLY"}}


def identity_key(account_id: str, channel: Channel, key: str) -> dict[str, Any]:
    pk = f"{account_pk(account_id)}#IDENTITY#{channel.value}#{key}"
    return {"pk": {"S": pk}, "sk": {"S": "IDENTITY"}}


def provider_index_key(account_id: str, channel: Channel, provider_message_id: str) -> dict[str, Any]:
    pk = f"PROVIDERMSG#{account_id}#{channel.value}#{provider_message_id}"
    return {"pk": {"S": pk}, "sk": {"S": "PROVIDERMSG"}}


def held_status_key(account_id: str, channel: Channel, provider_message_id: str) -> dict[str, Any]:
    pk = f"HELDSTATUS#{account_id}#{channel.value}#{provider_message_id}"
    return {"pk": {"S": pk}, "sk": {"S": "HELDSTATUS"}}


def conversation_from_image(image: dict[str, Any] | None) -> Conversation | None:
    if not image or image.get("entity", {}).get("S") != CONVERSATION_ENTITY:
        return None
    return values_to_conversation(from_stream_image(image))


def message_from_image(image: dict[str, Any] | None) -> Message | None:
    if not image or image.get("entity", {}).get("S") != MESSAGE_ENTITY:
        return None
    return values_to_message(from_stream_image(image))
