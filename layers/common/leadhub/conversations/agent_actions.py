"""What agents do with a conversation: write into it, take it over from the responder, close it.

A closed conversation stays closed: the lead's next message opens a new conversation on that channel
(its history stays readable in the old one), so every conversation has one beginning and one end."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from leadhub.accounts.audit import AuditEntry
from leadhub.accounts.models import Principal
from leadhub.conversations.conversations import get_conversation
from leadhub.conversations.jobs import SendJob
from leadhub.conversations.models import Conversation, ConversationStatus, Message
from leadhub.conversations.ports import ConversationQueue, ConversationStore
from leadhub.conversations.replies import REPLY_TO_PROVIDER_ID, queued_message
from leadhub.leads.models import Lead
from leadhub.platform.errors import Conflict, StorageUnavailable
from leadhub.platform.ids import sortable_id
from leadhub.platform.timestamps import to_iso


def queue_manual_message(
    account_id: str,
    conversation_id: str,
    text: str,
    *,
    store: ConversationStore,
    queue: ConversationQueue,
    actor: str,
    now: datetime,
    by: Principal | None = None,
) -> Message:
    """Store the agent's message as queued and hand it to the conversation worker, behind anything
    the conversation is already waiting for (same FIFO group); `message.sent` follows once sent."""
    conversation = get_conversation(account_id, conversation_id, store=store)
    if conversation.status is not ConversationStatus.OPEN:
        raise Conflict("The conversation is closed; the lead's next message opens a new one")
    if conversation.unreachable_at:
        raise Conflict(
            f"The lead cannot be written to here ({conversation.unreachable_reason}); "
            "that changes when they write again"
        )
    # What it answers is fixed now, as its text is: a retried send must be the same request (Resend
    # refuses an Idempotency-Key reused with another payload), and quotes what the agent saw.
    answered = store.latest_inbound(account_id, conversation_id)
    content = {"actor": actor}
    if answered is not None:
        content |= {"replyTo": answered.message_id, REPLY_TO_PROVIDER_ID: answered.provider_message_id}
    message = queued_message(conversation, sortable_id("msg"), "manual", text, content, now)
    audit = _audit(by, "conversation.message_queued", conversation, now, messageId=message.message_id)
    reference = store.create_outbound(message, audit)
    job = SendJob(account_id, conversation_id, reference)
    try:
        queue.send(job.to_message(), group_id=conversation_id, dedupe_id=message.message_id)
    except StorageUnavailable:
        # No job will send it: say so on the message rather than leave it queued for ever (503: retry).
        unsent = {"reason": "not sent: it could not be queued; send it again"}
        store.replace_message(
            replace(message, status="failed", status_at=to_iso(now), errors=(unsent,)), previous=message
        )
        raise
    return message


def close_conversation(
    account_id: str,
    conversation_id: str,
    *,
    store: ConversationStore,
    now: datetime,
    by: Principal | None = None,
) -> Conversation:
    conversation = get_conversation(account_id, conversation_id, store=store)
    if conversation.status is ConversationStatus.CLOSED:
        return conversation
    lead: Lead | None = store.get_lead(account_id, conversation.lead_id)
    holds = lead is not None and lead.open_conversations.get(conversation.channel.value) == conversation_id
    store.close(conversation, holds, to_iso(now), _audit(by, "conversation.closed", conversation, now))
    return get_conversation(account_id, conversation_id, store=store)


def set_auto_reply(
    account_id: str,
    conversation_id: str,
    enabled: bool,
    *,
    store: ConversationStore,
    by: Principal | None = None,
    now: datetime | None = None,
) -> Conversation:
    conversation = get_conversation(account_id, conversation_id, store=store)
    action = "conversation.auto_reply_on" if enabled else "conversation.auto_reply_off"
    store.set_auto_reply(conversation, enabled, _audit(by, action, conversation, now))
    return get_conversation(account_id, conversation_id, store=store)


def _audit(
    by: Principal | None, action: str, conversation: Conversation, now: datetime | None, **target: str
) -> AuditEntry | None:
    """The audit entry of an agent's change, when a caller (`by`: an API key or a dashboard session) made
    it; never the message's text."""
    if by is None or now is None:
        return None
    ids = {"conversationId": conversation.conversation_id, "leadId": conversation.lead_id, **target}
    return AuditEntry(conversation.account_id, action, by.source, to_iso(now), actor=by.key_id, target=ids)
