"""Storing what channels receive: one lead per identity, one open conversation per lead and channel, each
message once (deduplicated by the provider's ids), and status reports that never move a message back."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from leadhub.accounts.audit import AuditEntry
from leadhub.conversations.message_limits import bounded_content, bounded_text, storable_id, storable_inbound
from leadhub.conversations.models import (
    AWAITING_CONTENT,
    OUTBOUND_STATUS_RANK,
    RECEIVED,
    Channel,
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    InboundMessage,
    Message,
    StatusUpdate,
)
from leadhub.conversations.ports import CommitOutcome, ConversationStore, InboundWrite
from leadhub.leads.identity import RE_ENGAGEMENT_AFTER, lead_id_for_phone
from leadhub.leads.models import Lead
from leadhub.platform.errors import NotFound, StorageUnavailable
from leadhub.platform.ids import derived_id, sortable_id
from leadhub.platform.paging import Page
from leadhub.platform.timestamps import from_iso, to_iso

_WRITE_ATTEMPTS = 5
# The most conversations one filtered page of a listing reads, as the dashboard's lead search bounds its
# reads: a filter that matches nothing recent costs a bounded read, and the cursor goes on from there.
FILTERED_READ_BOUND = 1000


@dataclass(frozen=True, slots=True)
class InboundReceipt:
    stored: bool  # False: a duplicate, nothing written
    lead_id: str
    conversation_id: str | None = None
    message_id: str | None = None


def lead_id_for_contact(account_id: str, contact: Contact) -> str:
    """The lead a new identity starts as: WhatsApp writers with a phone are the lead with that phone (the
    same lead a CRM posted); the others are keyed by their channel identity."""
    if contact.channel is Channel.WHATSAPP and contact.phone:
        return lead_id_for_phone(account_id, contact.phone)
    return derived_id("lead", account_id, contact.channel.value, contact.key)


def recorded_identity(contact: Contact) -> str | None:
    """The key a lead is found by when it is not the one its id derives from: a WhatsApp business-scoped
    user id. It stays the same person's when a phone number appears later beside it, or disappears."""
    if contact.channel is Channel.WHATSAPP and contact.key != contact.phone:
        return contact.key
    return None


def message_id_for(account_id: str, channel: Channel, provider_message_id: str) -> str:
    return derived_id("msg", account_id, channel.value, provider_message_id)


def record_inbound(inbound: InboundMessage, *, store: ConversationStore, now: datetime) -> InboundReceipt:
    """Store the message with its lead and conversation in one transaction (two requests when warm: read
    the lead, commit). Safe when the provider redelivers and when messages of one lead race. Bounded by
    message_limits: UnstorableInput (nothing written) when an id is too long to be stored."""
    inbound = storable_inbound(inbound)
    at = to_iso(now)
    account_id, channel = inbound.account_id, inbound.channel
    identity = recorded_identity(inbound.contact)
    target = _named_conversation(inbound, store)
    drop_pointer = False
    for _ in range(_WRITE_ATTEMPTS):
        lead_id, claim = lead_id_for_contact(account_id, inbound.contact), None
        if target is not None:
            lead_id = target.lead_id
        elif identity is not None:  # the lead this id was first seen with, whatever it is keyed by
            found = store.find_identity(account_id, channel, identity)
            lead_id, claim = (found, None) if found else (lead_id, identity)
        existing = store.get_lead(account_id, lead_id)
        open_id = target.conversation_id if target else _open_conversation(existing, channel, drop_pointer)
        conversation = None
        if open_id is None:
            conversation = Conversation(
                account_id=account_id,
                conversation_id=sortable_id("conv"),  # unguessable: it appears in email reply addresses
                lead_id=lead_id,
                channel=channel,
                status=ConversationStatus.OPEN,
                created_at=at,
                last_activity_at=at,
                route=dict(inbound.route),
                message_count=1,
            )
            open_id = conversation.conversation_id
        lead = _lead_with_message(existing, lead_id, inbound, open_id, now)
        message = Message(
            account_id=account_id,
            conversation_id=open_id,
            message_id=message_id_for(account_id, channel, inbound.provider_message_id),
            lead_id=lead_id,
            channel=channel,
            direction=Direction.INBOUND,
            type=inbound.type,
            sent_at=inbound.sent_at,
            received_at=at,
            status=AWAITING_CONTENT if inbound.awaiting_content else RECEIVED,
            provider_message_id=inbound.provider_message_id,
            text=inbound.text,
            content=inbound.content,
        )
        audit = None
        if existing is None:
            audit = AuditEntry(account_id, "lead.created", channel.value, at, target={"leadId": lead_id})
        outcome = store.commit_inbound(
            InboundWrite(
                lead=lead,
                lead_expected_version=existing.version if existing else None,
                new_conversation=conversation,
                conversation_id=open_id,
                message=message,
                dedupe_keys=inbound.dedupe_keys,
                at=at,
                audit=audit,
                identity=claim,
            )
        )
        if outcome is CommitOutcome.STORED:
            return InboundReceipt(True, lead_id, open_id, message.message_id)
        if outcome is CommitOutcome.DUPLICATE:
            return InboundReceipt(False, lead_id)
        if outcome is CommitOutcome.CONVERSATION_GONE:
            if target is not None:  # an email reply to a conversation closed since: start a new one
                target = None
            drop_pointer = True
    raise StorageUnavailable("The conversation is being written concurrently; please retry")


def _named_conversation(inbound: InboundMessage, store: ConversationStore) -> Conversation | None:
    if inbound.conversation_id is None:
        return None
    found = store.get_conversation(inbound.account_id, inbound.conversation_id)
    if found is None or found.channel is not inbound.channel or found.status is not ConversationStatus.OPEN:
        return None
    return found


def _open_conversation(lead: Lead | None, channel: Channel, drop_pointer: bool) -> str | None:
    if lead is None or drop_pointer:
        return None
    return lead.open_conversations.get(channel.value)


def _lead_with_message(
    existing: Lead | None, lead_id: str, inbound: InboundMessage, conversation_id: str, now: datetime
) -> Lead:
    at = to_iso(now)
    contact = inbound.contact
    channel = contact.channel.value
    if existing is None:
        return Lead(
            account_id=inbound.account_id,
            lead_id=lead_id,
            captured_at=at,
            updated_at=at,
            last_activity_at=at,
            last_conversation_at=at,
            source=channel,
            phone=contact.phone,
            name=contact.name,
            email=contact.email,
            channel_ids={channel: contact.key},
            usernames={channel: contact.username} if contact.username else {},
            open_conversations={channel: conversation_id},
        )
    lead = replace(
        lead_touched_by_message(existing, now),
        # What the channel tells us fills gaps; it never overwrites what a CRM or agent set.
        name=existing.name or contact.name,
        phone=existing.phone or contact.phone,
        email=existing.email or contact.email,
        channel_ids={**existing.channel_ids, channel: contact.key},
        usernames={**existing.usernames, channel: contact.username}
        if contact.username
        else existing.usernames,
        open_conversations={**existing.open_conversations, channel: conversation_id},
    )
    if (lead.name, lead.phone, lead.email) != (existing.name, existing.phone, existing.email):
        lead = replace(lead, updated_at=at)
    return lead


def lead_touched_by_message(lead: Lead, now: datetime) -> Lead:
    """The lead after a message from them, on any channel: active and in conversation now, and
    re-engaged (`lead.re_engaged`) when they had been silent RE_ENGAGEMENT_AFTER or longer."""
    at = to_iso(now)
    touched = replace(lead, last_activity_at=at, last_conversation_at=at, version=lead.version + 1)
    if now - from_iso(lead.last_activity_at) >= RE_ENGAGEMENT_AFTER:
        touched = replace(touched, re_engaged_at=at, previous_activity_at=lead.last_activity_at)
    return touched


def record_status(update: StatusUpdate, *, store: ConversationStore) -> bool:
    """Apply a delivery report to our outbound message; False when it changes nothing (unknown message,
    or a report older than what we have). A report on a message we do not know yet is held: the provider
    may report before its answer to our send reaches us and we record the message's id (see
    apply_held_status)."""
    if not storable_id(update.provider_message_id):
        return False  # not one of ours: we never stored an id that long
    update = replace(update, errors=tuple(bounded_content({"errors": list(update.errors)}).get("errors", ())))
    message = store.find_message(update.account_id, update.channel, update.provider_message_id)
    if message is None:
        if update.status not in OUTBOUND_STATUS_RANK:
            return False
        store.hold_status(update)
        # Looked up again after holding it: a send recorded meanwhile may have looked for held reports
        # before this one was held. One of the two sees the other, and applying twice changes nothing.
        message = store.find_message(update.account_id, update.channel, update.provider_message_id)
        if message is None:
            return False
    return _applied(message, update, store)


def apply_held_status(sent: Message, *, store: ConversationStore) -> bool:
    """After recording that the provider accepted `sent`: apply what it reported about the message before
    that (held by record_status), if anything."""
    held = store.held_status(sent.account_id, sent.channel, sent.provider_message_id)
    return held is not None and record_status(held, store=store)


def _applied(message: Message | None, update: StatusUpdate, store: ConversationStore) -> bool:
    for _ in range(_WRITE_ATTEMPTS):
        if message is None or message.direction is not Direction.OUTBOUND:
            return False
        if not _moves_forward(message.status, update.status):
            return False
        changed = replace(
            message, status=update.status, status_at=update.at, errors=update.errors or message.errors
        )
        if store.replace_message(changed, previous=message):
            return True
        message = store.find_message(update.account_id, update.channel, update.provider_message_id)
    raise StorageUnavailable("The message status is being written concurrently; please retry")


def _moves_forward(current: str, reported: str) -> bool:
    if current == "failed" or reported not in OUTBOUND_STATUS_RANK:
        return False
    return OUTBOUND_STATUS_RANK[reported] > OUTBOUND_STATUS_RANK.get(current, -1)


def record_edit(
    account_id: str,
    channel: Channel,
    provider_message_id: str,
    text: str | None,
    edited_at: str,
    *,
    store: ConversationStore,
) -> bool:
    """A sender edited a message we stored: keep the new text. False when we never stored the original."""
    if not storable_id(provider_message_id):
        return False
    text = bounded_text(text)
    for _ in range(_WRITE_ATTEMPTS):
        message = store.find_message(account_id, channel, provider_message_id)
        if message is None:
            return False
        if message.edited_at is not None and message.edited_at >= edited_at:
            return True  # a later edit is already stored
        if store.replace_message(replace(message, text=text, edited_at=edited_at), previous=message):
            return True
    raise StorageUnavailable("The message is being written concurrently; please retry")


def record_content(
    account_id: str,
    channel: Channel,
    provider_message_id: str,
    text: str | None,
    content: dict[str, object],
    *,
    store: ConversationStore,
) -> bool:
    """Complete a message stored before its content arrived (bounded as inbound messages are); False when
    there is none awaiting it."""
    text = bounded_text(text)
    for _ in range(_WRITE_ATTEMPTS):
        message = store.find_message(account_id, channel, provider_message_id)
        if message is None or message.status != AWAITING_CONTENT:
            return False
        merged = bounded_content({**message.content, **content})
        completed = replace(message, status=RECEIVED, text=text, content=merged)
        if store.replace_message(completed, previous=message):
            return True
    raise StorageUnavailable("The message is being written concurrently; please retry")


def get_conversation(account_id: str, conversation_id: str, *, store: ConversationStore) -> Conversation:
    conversation = store.get_conversation(account_id, conversation_id)
    if conversation is None:
        raise NotFound("Conversation not found")
    return conversation


def list_conversations(
    account_id: str,
    *,
    channel: Channel | None,
    status: ConversationStatus | None,
    lead_id: str | None,
    limit: int,
    cursor: str | None,
    store: ConversationStore,
) -> Page[Conversation]:
    """Newest activity first. A filtered page reads at most FILTERED_READ_BOUND conversations: one short
    of `limit` with a cursor means the reading stopped there (older matches may follow the cursor)."""
    return store.list_conversations(account_id, channel, status, lead_id, limit, cursor, FILTERED_READ_BOUND)


def list_messages(
    account_id: str, conversation_id: str, limit: int, cursor: str | None, *, store: ConversationStore
) -> Page[Message]:
    """Oldest first, by the provider's timestamp."""
    get_conversation(account_id, conversation_id, store=store)
    return store.list_messages(account_id, conversation_id, limit, cursor)
