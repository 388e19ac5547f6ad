"""Conversations, their messages and agents' actions."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from leadhub.conversations.request_models import (
    ManualMessageRequest as ManualMessageRequest,  # the inbox's reply form too
)
from schemas import RequestSchema, Schema


class ConversationOut(Schema):
    conversationId: str
    accountId: str
    leadId: str
    channel: str
    status: str
    createdAt: str
    lastActivityAt: str
    messageCount: int
    autoReply: bool
    closedAt: str | None
    unreachableAt: str | None = Field(
        description="since when the lead cannot be written to (blocked the bot)"
    )
    unreachableReason: str | None


class ConversationPageOut(Schema):
    items: list[ConversationOut]
    nextCursor: str | None


class MessageOut(Schema):
    messageId: str
    conversationId: str
    accountId: str
    leadId: str
    channel: str
    direction: str
    type: str
    text: str | None
    content: dict[str, Any]
    status: str
    statusAt: str | None
    errors: list[dict[str, Any]]
    sentAt: str
    receivedAt: str
    editedAt: str | None
    providerMessageId: str


class MessagePageOut(Schema):
    items: list[MessageOut]
    nextCursor: str | None


class ConversationPatchRequest(RequestSchema):
    autoReply: bool
