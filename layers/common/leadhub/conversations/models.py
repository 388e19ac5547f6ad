"""Conversations with a lead on one channel, and the messages in them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"
    EMAIL = "email"
    WEB = "web"  # the website chat widget (leadhub/channels/web)


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class ConversationStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


# Delivery states of an outbound message, in the order they happen. A status that arrives late (Meta does
# not guarantee order) never moves a message back; "failed" ends it whatever came before.
OUTBOUND_STATUS_RANK: Mapping[str, int] = {"queued": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}
RECEIVED = "received"  # the status of every inbound message once its content is stored
# An inbound email until its content is fetched from Resend (its webhook carries only metadata).
AWAITING_CONTENT = "awaiting_content"


@dataclass(frozen=True, slots=True)
class Conversation:
    account_id: str
    conversation_id: str
    lead_id: str
    channel: Channel
    status: ConversationStatus
    created_at: str
    last_activity_at: str
    # How to reach the lead on this channel (e.g. the WhatsApp number that received the message).
    route: Mapping[str, str] = field(default_factory=dict)
    message_count: int = 0
    auto_reply: bool = True  # off: an agent has taken over, the responder stays quiet
    closed_at: str | None = None
    # The lead cannot be written to on this channel (e.g. they blocked the bot), since when and why;
    # cleared when they write again.
    unreachable_at: str | None = None
    unreachable_reason: str | None = None
    # The latest message, shortened (`message_preview`), for lists of conversations: {"direction", "text"}.
    # Written with each message; empty for conversations whose last message predates it.
    last_message: Mapping[str, str] = field(default_factory=dict)

    def to_public(self) -> dict[str, Any]:
        return {
            "conversationId": self.conversation_id,
            "accountId": self.account_id,
            "leadId": self.lead_id,
            "channel": self.channel.value,
            "status": self.status.value,
            "createdAt": self.created_at,
            "lastActivityAt": self.last_activity_at,
            "messageCount": self.message_count,
            "autoReply": self.auto_reply,
            "closedAt": self.closed_at,
            "unreachableAt": self.unreachable_at,
            "unreachableReason": self.unreachable_reason,
        }


@dataclass(frozen=True, slots=True)
class Message:
    account_id: str
    conversation_id: str
    message_id: str
    lead_id: str
    channel: Channel
    direction: Direction
    type: str  # text, image, button_reply, location, … or the provider's own name for types we don't know
    sent_at: str  # the provider's timestamp: messages are ordered by it
    received_at: str  # when we stored it
    status: str
    provider_message_id: str
    text: str | None = None
    # Type-specific content: media id and caption, button id, location, contacts, reaction, …
    content: Mapping[str, Any] = field(default_factory=dict)
    errors: tuple[Mapping[str, Any], ...] = ()
    edited_at: str | None = None
    status_at: str | None = None

    def to_public(self) -> dict[str, Any]:
        return {
            "messageId": self.message_id,
            "conversationId": self.conversation_id,
            "accountId": self.account_id,
            "leadId": self.lead_id,
            "channel": self.channel.value,
            "direction": self.direction.value,
            "type": self.type,
            "text": self.text,
            "content": dict(self.content),
            "status": self.status,
            "statusAt": self.status_at,
            "errors": [dict(e) for e in self.errors],
            "sentAt": self.sent_at,
            "receivedAt": self.received_at,
            "editedAt": self.edited_at,
            "providerMessageId": self.provider_message_id,
        }


PREVIEW_CHARS = 120


def message_preview(message: Message) -> dict[str, str]:
    """What a list of conversations shows of `message`: its direction and the start of its text (or its
    type, for a message without text: "[image]")."""
    text = " ".join((message.text or "").split())
    if len(text) > PREVIEW_CHARS:
        text = text[: PREVIEW_CHARS - 1] + "…"
    return {"direction": message.direction.value, "text": text or f"[{message.type}]"}


@dataclass(frozen=True, slots=True)
class Contact:
    """Who wrote, as the channel names them: `key` is the identity a lead is deduplicated by on it."""

    channel: Channel
    # WhatsApp: the business-scoped user id (BSUID, e.g. "US.13491208655302741918") when Meta sends one,
    # else the E.164 phone; Telegram: the user id; email: the lower-cased address.
    key: str
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    username: str | None = None  # the handle the person shows instead of a name or number, if any


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message a channel received, normalised; what `record_inbound` stores."""

    account_id: str
    contact: Contact
    provider_message_id: str
    # Provider keys that make a delivery a duplicate (e.g. the Telegram update id); the message id too.
    dedupe_keys: tuple[str, ...]
    sent_at: str
    type: str
    text: str | None = None
    content: Mapping[str, Any] = field(default_factory=dict)
    route: Mapping[str, str] = field(default_factory=dict)
    # A reply to one of our emails names its conversation; None: the lead's open one (or a new one).
    conversation_id: str | None = None
    awaiting_content: bool = False  # the provider sent metadata only; the content is fetched later

    @property
    def channel(self) -> Channel:
        return self.contact.channel


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A provider's report on one of our outbound messages (sent, delivered, read, failed)."""

    account_id: str
    channel: Channel
    provider_message_id: str
    status: str
    at: str
    errors: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class ChannelReceipt:
    """What a one-event channel webhook (Telegram, email) did with the event: stored, duplicate, edited
    or ignored; always answered 200."""

    outcome: str
    reason: str | None = None  # why an event we could not store was ignored (for the log)
    # What to answer instead of the receipt: a Telegram Bot API method call, which Telegram makes when
    # it reads the webhook's answer.
    answer: Mapping[str, object] | None = None

    def to_public(self) -> dict[str, object]:
        return dict(self.answer) if self.answer else {"received": True, "outcome": self.outcome}


def email_reply_route_key(conversation_id: str) -> str:
    """The email route of a conversation's reply address (domains, the other email routes, hold no ':')."""
    return f"conversation:{conversation_id}"
