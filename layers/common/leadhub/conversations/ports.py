"""The conversations capability's ports: its store (inbound messages, replies, agents' actions), the
routes that tell which account a provider's identifier belongs to, the worker's queue, the channels'
senders, automations and responder settings, and the language model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # annotations only: a function imports the models it uses, not every port's
    from leadhub.accounts.audit import AuditEntry
    from leadhub.conversations.automation_rules import Automation
    from leadhub.conversations.model_responder import Turn
    from leadhub.conversations.models import Channel, Conversation, ConversationStatus, Message, StatusUpdate
    from leadhub.conversations.responder_settings import ResponderSettings
    from leadhub.leads.models import Lead
    from leadhub.platform.paging import Page


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

    def hold_status(self, update: StatusUpdate) -> None:
        """Keep a report on a message not known by its provider id (yet), unless one as far along (by
        OUTBOUND_STATUS_RANK) is held already; kept for a day."""

    def held_status(self, account_id: str, channel: Channel, provider_message_id: str) -> StatusUpdate | None:
        """The furthest report held for the message, if any."""

    def list_conversations(
        self,
        account_id: str,
        channel: Channel | None,
        status: ConversationStatus | None,
        lead_id: str | None,
        limit: int,
        cursor: str | None,
        bound: int,
    ) -> Page[Conversation]:
        """Newest activity first; with a filter, reading at most `bound` conversations (a cursor then
        goes on from the last one read)."""

    def list_messages(
        self, account_id: str, conversation_id: str, limit: int, cursor: str | None
    ) -> Page[Message]:
        """Oldest first."""

    # What answering a message needs (the conversation worker):

    def existing_reply(self, inbound: Message) -> Message | None:
        """The reply stored for `inbound`, if any."""

    def create_reply(self, reply: Message, inbound: Message) -> Message | None:
        """Store `reply` as the answer to `inbound` unless one exists; the existing one if so."""

    def recent_messages(self, account_id: str, conversation_id: str, count: int) -> list[Message]:
        """The conversation's last `count` messages, oldest first."""

    def mark_sent(self, sent: Message, previous: Message) -> bool:
        """Record that the provider accepted `sent` (and index its provider id for status reports)."""

    def get_message(self, account_id: str, conversation_id: str, message_key: str) -> Message | None: ...

    def latest_inbound(self, account_id: str, conversation_id: str) -> Message | None: ...

    def mark_unreachable(self, conversation: Conversation, reason: str, at: str) -> None: ...

    # What agents do (the management API, the dashboard); each change is stored together with its audit
    # entry, when there is one:

    def create_outbound(self, message: Message, audit: AuditEntry | None = None) -> str:
        """Store the message; the reference `get_message` finds it by."""

    def close(
        self, conversation: Conversation, lead_holds_it: bool, at: str, audit: AuditEntry | None = None
    ) -> bool: ...

    def set_auto_reply(
        self, conversation: Conversation, enabled: bool, audit: AuditEntry | None = None
    ) -> None: ...


class ConversationQueue(Protocol):
    """A queue of the conversations' jobs: the conversation worker's FIFO queue (one message group per
    conversation) and its dead letters, and the email content queue."""

    def send(
        self, body: dict[str, str], *, group_id: str | None = None, dedupe_id: str | None = None
    ) -> None: ...

    def delay(self, receipt_handle: str, seconds: int) -> None:
        """Make a received message visible again after `seconds`."""


class ChannelSender(Protocol):
    def send_text(
        self, conversation: Conversation, text: str, reply_to: Message | None, idempotency_key: str
    ) -> str:
        """Send (as an answer to `reply_to`, when given); the provider's id of the sent message. Raises
        SendRejected."""


class AutomationStore(Protocol):
    def list_for_account(self, account_id: str) -> list[Automation]:
        """In the account's order (a new automation comes last)."""

    def insert(self, automation: Automation, audit: AuditEntry) -> None: ...

    def replace(self, automation: Automation, audit: AuditEntry) -> bool:
        """False when it is not there (deleted meanwhile)."""

    def delete(self, account_id: str, automation_id: str, audit: AuditEntry) -> bool: ...

    def save_order(self, account_id: str, automation_ids: list[str], audit: AuditEntry) -> None: ...


class ResponderStore(Protocol):
    def get(self, account_id: str) -> ResponderSettings: ...

    def save(self, settings: ResponderSettings, audit: AuditEntry) -> None: ...


class LanguageModel(Protocol):
    def reply(self, model_id: str, system_prompt: str, turns: Sequence[Turn], max_tokens: int) -> str: ...
