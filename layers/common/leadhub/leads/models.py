"""Leads: the stored entity (the submission a webhook caller sends is `leads.submission`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# A lead keeps at most this many tags / custom fields; later additions past it are ignored and reported.
MAX_TAGS_PER_LEAD = 100
MAX_CUSTOM_FIELDS_PER_LEAD = 100


@dataclass(frozen=True, slots=True)
class Lead:
    account_id: str
    lead_id: str
    captured_at: str
    updated_at: str
    last_activity_at: str
    source: str = "webhook"
    # A lead is one person per account and identity: a phone (CRM posts, WhatsApp), or a channel's own
    # user id (Telegram) or email address when no phone is known.
    phone: str | None = None
    name: str | None = None
    email: str | None = None
    tags: tuple[str, ...] = ()
    custom_fields: Mapping[str, str] = field(default_factory=dict)
    re_engaged_at: str | None = None
    previous_activity_at: str | None = None
    # When the lead last wrote on any channel (None: never).
    last_conversation_at: str | None = None
    # Identities on the channels the lead wrote from, e.g. {"telegram": "12345"}; on WhatsApp the
    # business-scoped user id when Meta sends one (a lead may have no phone at all), else the phone.
    channel_ids: Mapping[str, str] = field(default_factory=dict)
    # The usernames the lead last showed per channel, e.g. {"whatsapp": "ada.lovelace"}.
    usernames: Mapping[str, str] = field(default_factory=dict)
    # The open conversation per channel; a new inbound message joins it (storage detail, not public).
    open_conversations: Mapping[str, str] = field(default_factory=dict)
    version: int = 1

    def to_public(self) -> dict[str, Any]:
        """The API's representation (camelCase, no storage internals)."""
        return {
            "leadId": self.lead_id,
            "accountId": self.account_id,
            "phone": self.phone,
            "name": self.name,
            "email": self.email,
            "tags": list(self.tags),
            "customFields": dict(self.custom_fields),
            "source": self.source,
            "capturedAt": self.captured_at,
            "updatedAt": self.updated_at,
            "lastActivityAt": self.last_activity_at,
            "reEngagedAt": self.re_engaged_at,
            "lastConversationAt": self.last_conversation_at,
            "channelIds": dict(self.channel_ids),
            "usernames": dict(self.usernames),
        }
