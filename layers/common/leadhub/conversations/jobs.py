"""The jobs stored messages put on the worker queues, and which stream changes ask for them. Kept apart
from the workers' code: the fan-out derives them for every stream record and imports only this."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leadhub.conversations.models import AWAITING_CONTENT, RECEIVED, Channel, Direction, Message


@dataclass(frozen=True, slots=True)
class ContentJob:
    """The queue message asking for one email's content."""

    account_id: str
    email_id: str

    def to_message(self) -> dict[str, str]:
        return {"accountId": self.account_id, "emailId": self.email_id}

    @classmethod
    def from_message(cls, body: dict[str, Any]) -> ContentJob:
        return cls(str(body["accountId"]), str(body["emailId"]))


def content_job_for(old: Message | None, new: Message | None) -> ContentJob | None:
    """A stream change that stored an email still awaiting its content asks for that content."""
    if old is not None or new is None or new.channel is not Channel.EMAIL or new.status != AWAITING_CONTENT:
        return None
    return ContentJob(new.account_id, new.provider_message_id)


@dataclass(frozen=True, slots=True)
class ReplyJob:
    """The conversation queue's message: answer this inbound message (group: its conversation)."""

    account_id: str
    conversation_id: str
    channel: Channel
    provider_message_id: str

    def to_message(self) -> dict[str, str]:
        return {
            "kind": "reply",
            "accountId": self.account_id,
            "conversationId": self.conversation_id,
            "channel": self.channel.value,
            "providerMessageId": self.provider_message_id,
        }

    @classmethod
    def from_message(cls, body: dict[str, Any]) -> ReplyJob:
        return cls(
            str(body["accountId"]),
            str(body["conversationId"]),
            Channel(body["channel"]),
            str(body["providerMessageId"]),
        )


@dataclass(frozen=True, slots=True)
class SendJob:
    """The conversation queue's message: send this stored (queued) message, e.g. an agent's."""

    account_id: str
    conversation_id: str
    message_key: str  # the store's reference of the message (what create_outbound returned)

    def to_message(self) -> dict[str, str]:
        return {
            "kind": "send",
            "accountId": self.account_id,
            "conversationId": self.conversation_id,
            "messageKey": self.message_key,
        }


def job_from_message(body: dict[str, Any]) -> ReplyJob | SendJob:
    if body.get("kind") == "send":
        return SendJob(str(body["accountId"]), str(body["conversationId"]), str(body["messageKey"]))
    return ReplyJob.from_message(body)


def reply_job_for(old: Message | None, new: Message | None) -> ReplyJob | None:
    """An inbound message that has just become complete (received) asks for an answer."""
    if new is None or new.direction is not Direction.INBOUND or new.status != RECEIVED:
        return None
    if old is not None and old.status == RECEIVED:
        return None
    return ReplyJob(new.account_id, new.conversation_id, new.channel, new.provider_message_id)
