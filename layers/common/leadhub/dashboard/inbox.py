"""The inbox pages: conversations with their lead's name and latest message, and one conversation's thread.
What an agent does in a thread (write, take over, close) is leadhub.conversations.agent_actions, as for
the API."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from markupsafe import escape

from leadhub.conversations.conversations import get_conversation, list_conversations
from leadhub.conversations.models import Conversation, ConversationStatus, Direction, Message
from leadhub.conversations.ports import ConversationStore
from leadhub.dashboard.ports import LeadActivity
from leadhub.leads.models import Lead
from leadhub.platform.errors import FieldError, InvalidRequest

PAGE_SIZE = 25
THREAD_LENGTH = 50
# A thread page stays within the pages' 60 KB: each text is shown up to SHOWN_TEXT_CHARS (what WhatsApp
# and Telegram allow; only long emails are cut), and earlier messages move to the next page once the
# texts shown reach TEXT_BUDGET_BYTES (as escaped HTML).
SHOWN_TEXT_CHARS = 4096
TEXT_BUDGET_BYTES = 30_000
STATUS_FILTERS = ("open", "closed", "all")


@dataclass(frozen=True, slots=True)
class InboxRow:
    conversation: Conversation
    lead: Lead | None  # None: deleted since

    @property
    def lead_label(self) -> str:
        return lead_label(self.lead)


@dataclass(frozen=True, slots=True)
class Inbox:
    rows: list[InboxRow]
    next_cursor: str | None
    status: str

    @property
    def version(self) -> str:
        """Changes whenever what the list shows does (the polled fragment's ETag)."""
        return _version(
            (c.conversation_id, c.last_activity_at, c.status.value, str(c.message_count))
            for c in (row.conversation for row in self.rows)
        )


@dataclass(frozen=True, slots=True)
class ShownMessage:
    message: Message
    text: str  # its text (or "[type]" without one), cut to SHOWN_TEXT_CHARS
    cut_chars: int  # how many characters were cut off
    failure: str | None  # why it failed, when it did

    @property
    def author(self) -> str:
        if self.message.direction is Direction.INBOUND:
            return "lead"
        return "agent" if self.message.content.get("kind") == "manual" else "automatic reply"


@dataclass(frozen=True, slots=True)
class Thread:
    conversation: Conversation
    lead: Lead | None
    messages: list[ShownMessage]  # oldest first: the end of the conversation (or of an earlier page)
    earlier_cursor: str | None  # more messages before the first one shown

    @property
    def lead_label(self) -> str:
        return lead_label(self.lead)

    @property
    def _messages(self) -> list[Message]:
        return [shown.message for shown in self.messages]

    @property
    def version(self) -> str:
        """Changes whenever what the thread shows does: a message, its status or text, the conversation's
        state (the polled fragment's ETag)."""
        c = self.conversation
        state = (c.status.value, str(c.auto_reply), c.unreachable_at or "")
        messages = ((m.message_id, m.status, m.edited_at or "", m.text or "") for m in self._messages)
        return _version([state, *messages])


def _version(parts: Iterable[Iterable[str]]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update("\x1f".join(part).encode() + b"\x1e")
    return digest.hexdigest()[:20]


def lead_label(lead: Lead | None) -> str:
    """What to call the lead: its name, else a username, phone or email it is known by."""
    if lead is None:
        return "(unknown lead)"
    username = next(iter(lead.usernames.values()), None)
    return lead.name or (username and f"@{username}") or lead.phone or lead.email or "(no name)"


def inbox(
    account_id: str, status: str, cursor: str | None, *, store: ConversationStore, activity: LeadActivity
) -> Inbox:
    if status not in STATUS_FILTERS:
        raise InvalidRequest("Invalid filter", [FieldError("status", "one of: open, closed, all")])
    page = list_conversations(
        account_id,
        channel=None,
        status=None if status == "all" else ConversationStatus(status),
        lead_id=None,
        limit=PAGE_SIZE,
        cursor=cursor,
        store=store,
    )
    leads = activity.leads_by_id(account_id, [c.lead_id for c in page.items])
    rows = [InboxRow(c, leads.get(c.lead_id)) for c in page.items]
    return Inbox(rows, page.next_cursor, status)


def thread(
    account_id: str,
    conversation_id: str,
    cursor: str | None,
    *,
    store: ConversationStore,
    activity: LeadActivity,
) -> Thread:
    conversation = get_conversation(account_id, conversation_id, store=store)
    lead = store.get_lead(account_id, conversation.lead_id)
    page = activity.latest_messages(account_id, conversation_id, THREAD_LENGTH, cursor)
    shown: list[ShownMessage] = []
    earlier, budget = page.next_cursor, TEXT_BUDGET_BYTES
    for message in page.items:  # newest first
        entry = shown_message(message)
        budget -= len(str(escape(entry.text)).encode())
        if budget < 0 and shown:
            earlier = activity.cursor_after(shown[-1].message)
            break
        shown.append(entry)
    return Thread(conversation, lead, list(reversed(shown)), earlier)


def shown_message(message: Message) -> ShownMessage:
    text = message.text if message.text is not None else f"[{message.type}]"
    cut = max(0, len(text) - SHOWN_TEXT_CHARS)
    if cut:
        text = text[:SHOWN_TEXT_CHARS] + "…"
    return ShownMessage(message, text, cut, failure_reason(message))


def failure_reason(message: Message) -> str | None:
    """Why a message failed, in the provider's or our words (the first error that says)."""
    if message.status != "failed":
        return None
    for error in message.errors:
        for key in ("reason", "message", "title", "description"):
            if error.get(key):
                code = error.get("code")
                return f"{error[key]} ({code})" if code is not None else str(error[key])
    return "no reason given"
