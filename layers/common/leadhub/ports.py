"""The ports domain code depends on. Adapters implement them for AWS; tests use in-memory fakes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # annotations only: a function imports the models it uses, not every port's
    from leadhub.accounts.audit import AuditEntry
    from leadhub.leads.models import Lead
    from leadhub.models.conversation import Channel, Conversation, ConversationStatus, Message
    from leadhub.models.webhook_endpoint import WebhookEndpoint
    from leadhub.platform.paging import Page


class EndpointRepository(Protocol):
    def insert(self, endpoint: WebhookEndpoint, limit: int | None, audit: AuditEntry) -> bool:
        """Store a new endpoint unless the account already has `limit` endpoints (None: no limit)."""

    def get(self, account_id: str, endpoint_id: str) -> WebhookEndpoint | None: ...

    def list_for_account(self, account_id: str) -> list[WebhookEndpoint]:
        """Oldest first."""

    def replace(self, endpoint: WebhookEndpoint, expected_version: int) -> bool: ...

    def delete(self, account_id: str, endpoint_id: str, audit: AuditEntry) -> bool:
        """False when there was no such endpoint."""

    def add_audit(self, audit: AuditEntry) -> None: ...


@dataclass(frozen=True, slots=True)
class ChannelRoute:
    """Which account a provider's identifier belongs to (a WhatsApp phone number id, a Telegram secret)."""

    channel: Channel
    key: str
    account_id: str
    details: Mapping[str, str]


class ChannelRoutes(Protocol):
    def find_route(self, channel: Channel, key: str) -> ChannelRoute | None: ...


class CommitOutcome(Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"  # one of the dedupe keys was stored before: the provider redelivered
    LEAD_CHANGED = "lead_changed"  # someone wrote the lead meanwhile: read it again
    CONVERSATION_GONE = "conversation_gone"  # the open conversation was closed meanwhile


@dataclass(frozen=True, slots=True)
class InboundWrite:
    """Everything one inbound message changes, committed together or not at all."""

    lead: Lead
    lead_expected_version: int | None  # None: the lead is new
    new_conversation: Conversation | None  # None: `conversation_id` is open already and is touched
    conversation_id: str
    message: Message
    dedupe_keys: tuple[str, ...]
    at: str
    audit: AuditEntry | None
    # The contact's key on the message's channel, recorded as the lead's (find_identity finds it later)
    # when no lead had it yet; None: nothing to record.
    identity: str | None = None


class ConversationStore(Protocol):
    def get_lead(self, account_id: str, lead_id: str) -> Lead | None: ...

    def find_identity(self, account_id: str, channel: Channel, key: str) -> str | None:
        """The id of the lead a channel identity (e.g. a WhatsApp business-scoped user id) was recorded
        for, if any."""

    def commit_inbound(self, write: InboundWrite) -> CommitOutcome: ...

    def get_conversation(self, account_id: str, conversation_id: str) -> Conversation | None: ...

    def find_message(self, account_id: str, channel: Channel, provider_message_id: str) -> Message | None:
        """The message the provider knows by this id, inbound or outbound."""

    def replace_message(self, message: Message, previous: Message) -> bool:
        """Store `message` if the stored one still has `previous`'s status and edit time."""

    def list_conversations(
        self,
        account_id: str,
        channel: Channel | None,
        status: ConversationStatus | None,
        lead_id: str | None,
        limit: int,
        cursor: str | None,
    ) -> Page[Conversation]:
        """Newest activity first."""

    def list_messages(
        self, account_id: str, conversation_id: str, limit: int, cursor: str | None
    ) -> Page[Message]:
        """Oldest first."""
