"""The overview page: the lead webhook URL with ready-to-paste snippets, and the account's recent activity.
Each block is there only when the session's scopes allow what it shows."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from leadhub.accounts.accounts import current_account, webhook_url
from leadhub.accounts.models import Principal, Scope
from leadhub.accounts.ports import AccountRepository
from leadhub.dashboard.ports import ConversationCounts, DeliveryCounts, LeadCounts
from leadhub.leads.leads import list_leads
from leadhub.leads.models import Lead
from leadhub.outbound.ports import EndpointRepository
from leadhub.platform.paging import BoundedCount
from leadhub.platform.ports import SecretCipher
from leadhub.platform.timestamps import to_iso

# Counting stops after reading this many items: an overview never reads a whole partition.
COUNT_BOUND = 500
# Failed deliveries are counted among those created this far back: recover's window
# (leadhub.outbound.delivery_log.RECOVER_WINDOW; not imported, it pulls in the HTTP sender: ~90 ms of cold
# start).
FAILED_DELIVERY_LOOKBACK = timedelta(days=14)
RECENT_LEADS = 5
SAMPLE_LEAD = {"name": "Ada Lovelace", "phone": "+14155552671", "email": "ada@example.com"}


@dataclass(frozen=True, slots=True)
class LeadWebhook:
    url: str
    curl: str
    html_form: str


@dataclass(frozen=True, slots=True)
class Overview:
    account_name: str | None
    lead_webhook: LeadWebhook | None  # account:view
    leads_today: BoundedCount | None  # leads:read
    leads_last_7_days: BoundedCount | None
    recent_leads: list[Lead] | None
    open_conversations: BoundedCount | None  # conversations:manage
    failed_deliveries_24h: BoundedCount | None  # webhooks:manage


def lead_webhook(url: str) -> LeadWebhook:
    curl = (
        f"curl -sS -X POST {shlex.quote(url)} \\\n"
        f"  -H 'Content-Type: application/json' \\\n"
        f"  -d {shlex.quote(json.dumps(SAMPLE_LEAD))}"
    )
    html_form = "\n".join(
        [
            f'<form method="post" action="{url}">',
            '  <label>Name <input name="name" autocomplete="name"></label>',
            '  <label>Phone <input name="phone" type="tel" autocomplete="tel" required></label>',
            '  <label>Email <input name="email" type="email" autocomplete="email"></label>',
            '  <button type="submit">Send</button>',
            "</form>",
        ]
    )
    return LeadWebhook(url, curl, html_form)


def _leads_today_and_this_week(
    account_id: str, leads: LeadCounts, now: datetime
) -> tuple[BoundedCount, BoundedCount]:
    """Both counts from one read of the last 7 days' capture times (today: since 00:00 UTC)."""
    midnight = to_iso(now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0))
    week = leads.capture_times_since(account_id, to_iso(now - timedelta(days=7)), COUNT_BOUND)
    more = week.next_cursor is not None
    today = [t for t in week.items if t >= midnight]
    # Cut short at the bound, today's count is a lower limit too while every time read is from today.
    today_complete = not more or len(today) < len(week.items)
    return BoundedCount(len(today), today_complete), BoundedCount(len(week.items), not more)


def overview(
    principal: Principal,
    base_url: str,
    *,
    accounts: AccountRepository,
    cipher: SecretCipher,
    leads: LeadCounts,
    conversations: ConversationCounts,
    endpoints: EndpointRepository,
    deliveries: DeliveryCounts,
    now: datetime,
) -> Overview:
    scopes = principal.scopes
    webhook = name = None
    if Scope.ACCOUNT_VIEW in scopes:
        view = current_account(principal, accounts=accounts, cipher=cipher)
        webhook, name = lead_webhook(webhook_url(base_url, view.webhook_token)), view.account.name
    today = week = recent = conversations_open = failed = None
    if Scope.LEADS_READ in scopes:
        recent = list_leads(principal.account_id, RECENT_LEADS, None, leads=leads).items
        today, week = _leads_today_and_this_week(principal.account_id, leads, now)
    if Scope.CONVERSATIONS_MANAGE in scopes:
        conversations_open = conversations.count_open(principal.account_id, COUNT_BOUND)
    if Scope.WEBHOOKS_MANAGE in scopes:
        endpoint_ids = [e.endpoint_id for e in endpoints.list_for_account(principal.account_id)]
        failed = deliveries.count_failed_since(
            principal.account_id,
            endpoint_ids,
            created_since=to_iso(now - FAILED_DELIVERY_LOOKBACK),
            failed_since=to_iso(now - timedelta(hours=24)),
            bound=COUNT_BOUND,
        )
    return Overview(name, webhook, today, week, recent, conversations_open, failed)
