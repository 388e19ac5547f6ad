"""The leads pages: the list (newest first, or a search) and one lead with its messages, deliveries and
audit entries, each block shown when the session's scopes allow it (as the API's routes).

Search: a phone number is one GetItem (a lead's id derives from its E.164 phone); other text is matched
case-insensitively in names, emails, phones and usernames of the newest leads, SEARCH_BOUND a request,
and the page offers to go on with older ones. DynamoDB has no substring index: a complete search would
need a search engine fed from the stream; the bounded read keeps each request's cost fixed without one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from leadhub.accounts.audit import AuditEntry
from leadhub.accounts.models import Principal, Scope
from leadhub.conversations.models import Conversation, Message
from leadhub.dashboard.ports import LeadActivity
from leadhub.leads.identity import lead_id_for_phone, to_e164
from leadhub.leads.leads import get_lead, list_leads
from leadhub.leads.models import Lead
from leadhub.leads.ports import LeadRepository
from leadhub.outbound.models import Delivery
from leadhub.outbound.ports import EndpointRepository
from leadhub.platform.errors import FieldError, InvalidRequest
from leadhub.platform.paging import BoundedPage
from leadhub.platform.timestamps import to_iso

PAGE_SIZE = 25
MAX_QUERY = 200
# Leads read per search request (newest first); "search older leads" goes on from where it stopped.
SEARCH_BOUND = 1000
# A lead's page looks this far back for what belongs to the lead (nothing is indexed by lead but the
# lead itself): the account's most recently active conversations, its newest audit entries, and each
# endpoint's newest deliveries; conversations and deliveries no further back than the lead's capture.
CONVERSATIONS_BOUND = 500
AUDIT_BOUND = 500
DELIVERIES_BOUND = 200
SHOWN_CONVERSATIONS = 10
MESSAGES_PER_CONVERSATION = 20
# What a lead's page shows stays within the pages' 60 KB however much the lead holds (100 custom fields
# of 1,000 characters, emails of 20,000): the latest messages and values cut short (the thread and the
# API have them whole).
TIMELINE_LENGTH = 20
TIMELINE_TEXT_CHARS = 160
CUSTOM_VALUE_CHARS = 120
SHOWN_DELIVERIES = 10
SHOWN_AUDIT = 10
SINCE = {"today": "today", "7d": "the last 7 days"}
_PHONE_CHARACTERS = re.compile(r"\+?[\d\s().-]+")
_MIN_PHONE_DIGITS = 7
_MIN_DIGITS_TO_MATCH = 3


@dataclass(frozen=True, slots=True)
class LeadList:
    leads: list[Lead]
    next_cursor: str | None
    query: str
    since: str | None
    read: int | None = None  # a text search: leads read by this request
    complete: bool = True  # False: the search stopped at SEARCH_BOUND leads; older ones are unread


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def matches(lead: Lead, query: str) -> bool:
    """Whether `query` (case-insensitively) is part of the lead's name, email, username, or (its digits,
    at least three of them) of its phone."""
    wanted = query.casefold()
    texts = [lead.name or "", lead.email or "", *lead.usernames.values()]
    if any(wanted in text.casefold() for text in texts):
        return True
    digits = _digits(query)
    return (
        len(digits) >= _MIN_DIGITS_TO_MATCH
        and _PHONE_CHARACTERS.fullmatch(query) is not None
        and digits in _digits(lead.phone or "")
    )


def phone_in(query: str, default_region: str) -> str | None:
    """The E.164 number a query that looks like a whole phone number names, else None."""
    if not _PHONE_CHARACTERS.fullmatch(query) or len(_digits(query)) < _MIN_PHONE_DIGITS:
        return None
    try:
        return to_e164(query, default_region)
    except ValueError:
        return None


def _since(since: str, now: datetime) -> str:
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return to_iso(midnight if since == "today" else now - timedelta(days=7))


def find_leads(
    account_id: str,
    query: str,
    cursor: str | None,
    since: str | None,
    *,
    default_region: str,
    leads: LeadRepository,
    activity: LeadActivity,
    now: datetime,
) -> LeadList:
    """The /leads page: a search when there is a query, else the newest leads (those captured `since`
    "today" or in the last "7d", when given)."""
    query = " ".join(query.split())
    if len(query) > MAX_QUERY:
        raise InvalidRequest("Invalid search", [FieldError("q", f"at most {MAX_QUERY} characters")])
    if since is not None and since not in SINCE:
        raise InvalidRequest("Invalid filter", [FieldError("since", "one of: today, 7d")])
    if not query:
        page = list_leads(account_id, PAGE_SIZE, cursor, leads=leads)
        if since is None:
            return LeadList(page.items, page.next_cursor, query, since)
        earliest = _since(since, now)
        recent = [lead for lead in page.items if lead.captured_at >= earliest]
        more = page.next_cursor if len(recent) == len(page.items) else None  # newest first: older ones end it
        return LeadList(recent, more, query, since)
    exact: Lead | None = None
    phone = phone_in(query, default_region)
    if phone is not None and cursor is None:
        exact = leads.get(account_id, lead_id_for_phone(account_id, phone))
    found = activity.search_leads(
        account_id, lambda lead: matches(lead, query), PAGE_SIZE, SEARCH_BOUND, cursor
    )
    items = found.items
    if exact is not None:
        items = [exact, *(lead for lead in items if lead.lead_id != exact.lead_id)]
    return LeadList(items, found.next_cursor, query, None, found.read, found.complete)


# -- one lead -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    message: Message
    conversation: Conversation


@dataclass(frozen=True, slots=True)
class LeadDelivery:
    delivery: Delivery
    endpoint_name: str


@dataclass(frozen=True, slots=True)
class LeadView:
    lead: Lead
    conversations: BoundedPage[Conversation] | None  # conversations:manage
    timeline: list[TimelineEntry] | None
    deliveries: list[LeadDelivery] | None  # webhooks:manage
    deliveries_complete: bool
    audit: BoundedPage[AuditEntry] | None  # account:view


def lead_view(
    principal: Principal,
    lead_id: str,
    *,
    leads: LeadRepository,
    activity: LeadActivity,
    endpoints: EndpointRepository,
) -> LeadView:
    account_id, scopes = principal.account_id, principal.scopes
    lead = get_lead(account_id, lead_id, leads=leads)
    conversations = timeline = deliveries = audit = None
    deliveries_complete = True
    if Scope.CONVERSATIONS_MANAGE in scopes:
        conversations = activity.lead_conversations(
            account_id, lead_id, lead.captured_at, SHOWN_CONVERSATIONS, CONVERSATIONS_BOUND
        )
        timeline = _timeline(account_id, conversations.items, activity)
    if Scope.WEBHOOKS_MANAGE in scopes:
        names = {e.endpoint_id: e.name for e in endpoints.list_for_account(account_id)}
        pages = activity.lead_deliveries(
            account_id, list(names), lead_id, lead.captured_at, SHOWN_DELIVERIES, DELIVERIES_BOUND
        )
        found = [LeadDelivery(d, names[d.endpoint_id]) for page in pages for d in page.items]
        found.sort(key=lambda d: d.delivery.created_at, reverse=True)
        deliveries = found[:SHOWN_DELIVERIES]
        deliveries_complete = all(page.complete for page in pages)
    if Scope.ACCOUNT_VIEW in scopes:
        audit = activity.lead_audit(account_id, lead_id, SHOWN_AUDIT, AUDIT_BOUND)
    return LeadView(lead, conversations, timeline, deliveries, deliveries_complete, audit)


def _timeline(
    account_id: str, conversations: list[Conversation], activity: LeadActivity
) -> list[TimelineEntry]:
    """The lead's latest messages across its conversations, newest first."""
    entries = [
        TimelineEntry(message, conversation)
        for conversation in conversations
        for message in activity.latest_messages(
            account_id, conversation.conversation_id, MESSAGES_PER_CONVERSATION, None
        ).items
    ]
    entries.sort(key=lambda e: (e.message.sent_at, e.message.received_at), reverse=True)
    return entries[:TIMELINE_LENGTH]
