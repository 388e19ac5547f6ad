"""What the widget's public endpoints do. Every call names the widget by its public key and comes from
a page whose Origin must be on the widget's allow-list; a visitor proves who they are with the visitor
token Leadhub signed, and each page load with its page token (both from POST …/session).

Visitor messages take the same path as every channel's: stored once (by the widget's message id) with
their conversation, then the table's stream makes them `message.received` and a reply job; the
responder's (or an agent's) answer is stored as sent, and the widget polls for it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from leadhub.channels.web import requests, tokens
from leadhub.channels.web.origins import allowed
from leadhub.channels.web.ports import RateLimit, RateLimiter, VisitorMessageWrite, VisitorStore, WidgetLookup
from leadhub.channels.web.visitor import Visitor
from leadhub.channels.web.widget import LEAD_SOURCE, WIDGET_KEY_SHAPE, Widget
from leadhub.conversations.conversations import lead_touched_by_message, message_id_for
from leadhub.conversations.models import (
    RECEIVED,
    Channel,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
)
from leadhub.conversations.ports import CommitOutcome
from leadhub.conversations.replies import QUEUED
from leadhub.leads.leads import upsert_lead
from leadhub.leads.ports import LeadRepository
from leadhub.platform.errors import (
    Conflict,
    Forbidden,
    SecretNotConfigured,
    StorageUnavailable,
    TooManyRequests,
    Unauthorized,
)
from leadhub.platform.ids import sortable_id, token_hash
from leadhub.platform.ports import SecretSource
from leadhub.platform.timestamps import to_iso

_WRITE_ATTEMPTS = 5
POLL_PAGE = 50
# Our messages the widget shows: stored as sent (or later states). Queued ones are not sent yet.
_SHOWN_OUTBOUND = frozenset({"sent", "delivered", "read"})


@dataclass(frozen=True, slots=True)
class WidgetCall:
    """What every public call carries besides its body."""

    widget_key: str
    origin: str | None
    client_ip: str
    visitor_token: str | None = None
    page_token: str | None = None


def find_widget(key: str, *, widgets: WidgetLookup) -> Widget | None:
    """The widget a public key names; a key of any other shape is refused without a lookup."""
    return widgets.find_by_key_hash(token_hash(key)) if WIDGET_KEY_SHAPE.fullmatch(key) else None


def cors_origin(call: WidgetCall, *, widgets: WidgetLookup) -> str | None:
    """The Origin to allow in the answer's CORS headers: the caller's, when the widget allows it."""
    widget = find_widget(call.widget_key, widgets=widgets)
    if widget is None or not allowed(call.origin, widget.settings.allowed_origins):
        return None
    return call.origin


def allowed_widget(call: WidgetCall, *, widgets: WidgetLookup) -> Widget:
    """401 for an unknown key, 403 for a widget turned off or a page from an origin not on its list."""
    widget = find_widget(call.widget_key, widgets=widgets)
    if widget is None:
        raise Unauthorized("Unknown widget key")
    if not allowed(call.origin, widget.settings.allowed_origins):
        raise Forbidden("This page's origin is not allowed to use the widget")
    if not widget.settings.enabled:
        raise Forbidden("The widget is turned off")
    return widget


def preflight(call: WidgetCall, *, widgets: WidgetLookup) -> None:
    allowed_widget(call, widgets=widgets)


def _secret(source: SecretSource) -> str:
    value = source.value()
    if not value:
        raise SecretNotConfigured("The widget secret is not configured")
    return value


def _spend(limiter: RateLimiter, account_id: str, limits: list[RateLimit], now: datetime) -> None:
    wait = limiter.take(account_id, limits, now)
    if wait is not None:
        raise TooManyRequests("Too many requests: wait and try again", wait)


def _ip_key(secret: str, client_ip: str) -> str:
    """What an address is counted under: keyed, so that the counters do not tell the addresses."""
    return tokens.keyed_digest(secret, "ip", client_ip)


@dataclass(frozen=True, slots=True)
class Session:
    widget: Widget
    visitor_id: str
    visitor_token: str
    page_token: str
    visitor: Visitor | None

    def to_public(self) -> dict[str, Any]:
        return {
            "visitorToken": self.visitor_token,
            "pageToken": self.page_token,
            "captured": bool(self.visitor and self.visitor.lead_id),
            "messagesSent": self.visitor.messages_sent if self.visitor else 0,
            "settings": self.widget.settings.display(),
        }


def start_session(
    call: WidgetCall,
    body: bytes,
    content_type: str | None,
    *,
    widgets: WidgetLookup,
    visitors: VisitorStore,
    limiter: RateLimiter,
    secret: SecretSource,
    now: datetime,
) -> Session:
    """A page load's session: the visitor (a new one unless the token is valid) and a page token."""
    widget = allowed_widget(call, widgets=widgets)
    requests.parse_session(requests.request_object(body, content_type))
    key = _secret(secret)
    visitor_id = tokens.visitor_of(key, widget.account_id, call.visitor_token)
    visitor = None
    if visitor_id is None:
        limit = widget.settings.rate_limits.new_visitors_per_ip
        _spend(
            limiter,
            widget.account_id,
            [RateLimit(f"new-visitors:{_ip_key(key, call.client_ip)}", limit)],
            now,
        )
        visitor_id = tokens.new_visitor_id()
    else:
        visitor = visitors.get_visitor(widget.account_id, visitor_id)
    return Session(
        widget=widget,
        visitor_id=visitor_id,
        visitor_token=tokens.visitor_token(key, widget.account_id, visitor_id),
        page_token=tokens.page_token(key, widget.account_id, visitor_id, now),
        visitor=visitor,
    )


def _visitor_id(call: WidgetCall, widget: Widget, source: SecretSource, now: datetime) -> str:
    """The caller's visitor id, proven by both tokens (401 otherwise: the widget starts a new session)."""
    secret = _secret(source)
    visitor_id = tokens.visitor_of(secret, widget.account_id, call.visitor_token)
    if visitor_id is None:
        raise Unauthorized("Missing or invalid visitor token: start a session")
    if not tokens.page_token_valid(secret, widget.account_id, visitor_id, call.page_token, now):
        raise Unauthorized("Missing, invalid or expired page token: start a session")
    return visitor_id


def _message_limits(widget: Widget, visitor_id: str, call: WidgetCall, secret: str) -> list[RateLimit]:
    limits = widget.settings.rate_limits
    return [
        RateLimit(f"messages:{visitor_id}", limits.messages_per_visitor),
        RateLimit(f"messages:{_ip_key(secret, call.client_ip)}", limits.messages_per_ip),
    ]


@dataclass(frozen=True, slots=True)
class MessageReceipt:
    stored: bool  # False: this message id was stored before (the widget resent it)
    messages_sent: int
    captured: bool

    def to_public(self) -> dict[str, Any]:
        return {"stored": self.stored, "messagesSent": self.messages_sent, "captured": self.captured}


def post_message(
    call: WidgetCall,
    body: bytes,
    content_type: str | None,
    *,
    widgets: WidgetLookup,
    visitors: VisitorStore,
    limiter: RateLimiter,
    secret: SecretSource,
    now: datetime,
) -> MessageReceipt:
    widget = allowed_widget(call, widgets=widgets)
    visitor_id = _visitor_id(call, widget, secret, now)
    sent = requests.parse_message(requests.request_object(body, content_type))
    _spend(limiter, widget.account_id, _message_limits(widget, visitor_id, call, _secret(secret)), now)
    return record_visitor_message(widget, visitor_id, sent, store=visitors, now=now)


def record_visitor_message(
    widget: Widget, visitor_id: str, sent: requests.VisitorText, *, store: VisitorStore, now: datetime
) -> MessageReceipt:
    """Store the message with the visitor, their conversation (a new one when they have none open) and,
    once they left contact details, their lead's activity in one transaction; a resent message (same
    client id) is stored once."""
    at = to_iso(now)
    account_id = widget.account_id
    provider_id = f"{visitor_id}:{sent.client_message_id}"
    drop_pointer = False
    for _ in range(_WRITE_ATTEMPTS):
        visitor = store.get_visitor(account_id, visitor_id)
        if widget.settings.capture == "before_chat" and not (visitor and visitor.lead_id):
            raise Conflict("Leave your contact details before the first message")
        base = visitor or Visitor(account_id, visitor_id, created_at=at)
        # Their message is the lead's activity, as a message on any channel is.
        lead = store.get_lead(account_id, base.lead_id) if base.lead_id else None
        conversation_id = None if drop_pointer else base.conversation_id
        conversation = None
        if conversation_id is None:
            conversation = Conversation(
                account_id=account_id,
                conversation_id=sortable_id("conv"),
                lead_id=base.party_id,
                channel=Channel.WEB,
                status=ConversationStatus.OPEN,
                created_at=at,
                last_activity_at=at,
                route={"visitorId": visitor_id},
                message_count=1,
            )
            conversation_id = conversation.conversation_id
        message = Message(
            account_id=account_id,
            conversation_id=conversation_id,
            message_id=message_id_for(account_id, Channel.WEB, provider_id),
            lead_id=base.party_id,
            channel=Channel.WEB,
            direction=Direction.INBOUND,
            type="text",
            sent_at=at,
            received_at=at,
            status=RECEIVED,
            provider_message_id=provider_id,
            text=sent.text,
        )
        updated = replace(
            base,
            conversation_id=conversation_id,
            messages_sent=base.messages_sent + 1,
            version=base.version + 1 if visitor else 1,
        )
        outcome = store.commit_visitor_message(
            VisitorMessageWrite(
                visitor=updated,
                expected_version=visitor.version if visitor else None,
                new_conversation=conversation,
                conversation_id=conversation_id,
                message=message,
                at=at,
                lead=lead_touched_by_message(lead, now) if lead else None,
                lead_expected_version=lead.version if lead else None,
            )
        )
        if outcome is CommitOutcome.STORED:
            return MessageReceipt(True, updated.messages_sent, bool(updated.lead_id))
        if outcome is CommitOutcome.DUPLICATE:
            return MessageReceipt(False, base.messages_sent, bool(base.lead_id))
        if outcome is CommitOutcome.CONVERSATION_GONE:
            drop_pointer = True  # closed by an agent: the visitor's next message opens a new one
    raise StorageUnavailable("The conversation is being written concurrently; please retry")


@dataclass(frozen=True, slots=True)
class Poll:
    messages: list[dict[str, Any]]
    cursor: str | None
    captured: bool
    messages_sent: int

    def to_public(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "cursor": self.cursor,
            "captured": self.captured,
            "messagesSent": self.messages_sent,
        }


def poll_messages(
    call: WidgetCall,
    cursor: str | None,
    *,
    widgets: WidgetLookup,
    visitors: VisitorStore,
    secret: SecretSource,
    now: datetime,
) -> Poll:
    """The visitor's messages and ours after `cursor` in their current conversation. It stops before
    our first message that is not sent yet, so that none is skipped when it is."""
    widget = allowed_widget(call, widgets=widgets)
    visitor_id = _visitor_id(call, widget, secret, now)
    after = requests.parse_cursor(cursor)
    visitor = visitors.get_visitor(widget.account_id, visitor_id)
    if visitor is None or visitor.conversation_id is None:
        return Poll([], cursor or None, captured=bool(visitor and visitor.lead_id), messages_sent=0)
    conversation_id = visitor.conversation_id
    position = after[1] if after and after[0] == conversation_id else None
    shown: list[dict[str, Any]] = []
    for item_position, message in visitors.messages_after(
        widget.account_id, conversation_id, position, POLL_PAGE
    ):
        if message.direction is Direction.OUTBOUND and message.status == QUEUED:
            break
        position = item_position
        if message.direction is Direction.INBOUND or message.status in _SHOWN_OUTBOUND:
            shown.append(_shown(message))
    next_cursor = requests.encode_cursor(conversation_id, position) if position else None
    return Poll(shown, next_cursor, captured=bool(visitor.lead_id), messages_sent=visitor.messages_sent)


def _shown(message: Message) -> dict[str, Any]:
    if message.direction is Direction.INBOUND:
        return {
            "id": message.message_id,
            "from": "visitor",
            "text": message.text,
            "at": message.sent_at,
            "clientMessageId": message.provider_message_id.partition(":")[2],
        }
    author = "agent" if message.type == "manual" else "bot"
    return {"id": message.message_id, "from": author, "text": message.text, "at": message.status_at}


@dataclass(frozen=True, slots=True)
class ContactReceipt:
    created: bool

    def to_public(self) -> dict[str, Any]:
        return {"captured": True}


def leave_contact(
    call: WidgetCall,
    body: bytes,
    content_type: str | None,
    *,
    widgets: WidgetLookup,
    visitors: VisitorStore,
    limiter: RateLimiter,
    leads: LeadRepository,
    secret: SecretSource,
    now: datetime,
) -> ContactReceipt:
    """The visitor's name and email and/or phone become a lead (created, or merged into the one with that
    phone, or with no phone that email: `lead.created` / `lead.updated` / `lead.re_engaged` follow as for
    any lead), with the page's URL, referrer and UTM parameters; the visitor and their conversation are
    attached to it."""
    widget = allowed_widget(call, widgets=widgets)
    visitor_id = _visitor_id(call, widget, secret, now)
    submission, page = requests.parse_contact(
        requests.request_object(body, content_type), widget.default_region
    )
    _spend(limiter, widget.account_id, _message_limits(widget, visitor_id, call, _secret(secret)), now)
    fields = page.custom_fields()
    if widget.settings.consent_text:
        fields["consentText"] = widget.settings.consent_text
    submission = replace(submission, extra=fields)
    receipt = upsert_lead(widget.account_id, submission, leads=leads, now=now, source=LEAD_SOURCE)
    at = to_iso(now)
    for _ in range(_WRITE_ATTEMPTS):
        visitor = visitors.get_visitor(widget.account_id, visitor_id)
        base = visitor or Visitor(widget.account_id, visitor_id, created_at=at)
        attached = replace(
            base,
            lead_id=receipt.lead.lead_id,
            captured_at=at,
            version=base.version + 1 if visitor else 1,
        )
        if visitors.attach_lead(attached, visitor.version if visitor else None):
            return ContactReceipt(receipt.created)
    raise StorageUnavailable("The visitor is being written concurrently; please retry")
