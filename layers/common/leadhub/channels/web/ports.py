"""The ports of the web channel (the widget): its settings, its visitors and their messages, and the
rate counters of its public endpoints. Adapters: channels/web/adapters/."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from leadhub.accounts.audit import AuditEntry
    from leadhub.channels.web.visitor import Visitor
    from leadhub.channels.web.widget import Widget
    from leadhub.conversations.models import Conversation, Message
    from leadhub.conversations.ports import CommitOutcome
    from leadhub.leads.models import Lead


class WidgetStore(Protocol):
    def get(self, account_id: str) -> Widget | None: ...

    def save(self, widget: Widget, previous: Widget | None, audit: AuditEntry) -> bool:
        """Store the widget (and its key's lookup entry, the previous key's dropped) unless it changed
        since `previous` was read; False if it did."""


class WidgetLookup(Protocol):
    def find_by_key_hash(self, key_hash: str) -> Widget | None:
        """The widget whose public key hashes to this (what every public call starts with)."""


@dataclass(frozen=True, slots=True)
class VisitorMessageWrite:
    """Everything one visitor message changes, committed together or not at all."""

    visitor: Visitor
    expected_version: int | None  # None: the visitor is new
    new_conversation: Conversation | None  # None: `conversation_id` is open already and is touched
    conversation_id: str
    message: Message
    at: str
    # A captured visitor's lead, as their message leaves it, and the version it was read at.
    lead: Lead | None = None
    lead_expected_version: int | None = None


class VisitorStore(Protocol):
    def get_visitor(self, account_id: str, visitor_id: str) -> Visitor | None: ...

    def get_lead(self, account_id: str, lead_id: str) -> Lead | None: ...

    def commit_visitor_message(self, write: VisitorMessageWrite) -> CommitOutcome:
        """STORED, DUPLICATE (this client message id was stored before), LEAD_CHANGED (the visitor or
        their lead was written meanwhile: read them again) or CONVERSATION_GONE (the conversation was
        closed)."""

    def attach_lead(self, visitor: Visitor, expected_version: int | None) -> bool:
        """Store the visitor, now with its lead, and point its conversation (if any) at that lead;
        False when the visitor was written meanwhile."""

    def get_conversation(self, account_id: str, conversation_id: str) -> Conversation | None: ...

    def messages_after(
        self, account_id: str, conversation_id: str, position: str | None, limit: int
    ) -> list[tuple[str, Message]]:
        """The conversation's messages after `position` (None: from the start), oldest first, each with
        its own position."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    key: str  # what is counted, e.g. "messages:visitor:vis_…"
    limit: int  # requests per window
    window_seconds: int = 60


class RateLimiter(Protocol):
    def take(self, account_id: str, limits: Sequence[RateLimit], now: datetime) -> float | None:
        """Count one request against each limit, unless one of them is spent: then nothing is counted
        and the answer is the seconds until that limit's window ends. None: counted."""
