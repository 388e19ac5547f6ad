"""Leads."""

from __future__ import annotations

from schemas import Schema


class LeadOut(Schema):
    leadId: str
    accountId: str
    phone: str | None
    name: str | None
    email: str | None
    tags: list[str]
    customFields: dict[str, str]
    source: str
    capturedAt: str
    updatedAt: str
    lastActivityAt: str
    reEngagedAt: str | None
    lastConversationAt: str | None
    channelIds: dict[str, str]
    usernames: dict[str, str]


class LeadPageOut(Schema):
    items: list[LeadOut]
    nextCursor: str | None
