"""Leads (/leads): the newest first a page at a time, or a search; one lead (/leads/{leadId}) with its
messages, deliveries and audit entries."""

from __future__ import annotations

from typing import Any

import wiring
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from leadhub.dashboard import leads as lead_pages
from leadhub.dashboard.adapters.dynamodb_lead_activity import DynamoLeadActivity
from leadhub.dashboard.http import query_cursor
from leadhub.dashboard.navigation import LEADS
from leadhub.leads.adapters.dynamodb_leads import DynamoLeadRepository
from leadhub.outbound.adapters.dynamodb_endpoints import DynamoEndpointRepository
from leadhub.platform.errors import InvalidRequest
from leadhub.platform.timestamps import utc_now

router = Router()
leads = DynamoLeadRepository(wiring.settings.table_name)
activity = DynamoLeadActivity(wiring.settings.table_name)
endpoints = DynamoEndpointRepository(wiring.settings.table_name)


def query_value(name: str) -> str | None:
    return router.current_event.get_query_string_value(name) or None


def _default_region(account_id: str) -> str:
    """How the account's national phone numbers are read (as its lead webhook reads them)."""
    account = wiring.accounts.get_account(account_id)
    return account.default_region if account else "US"


@router.get(LEADS.path)
def get_leads() -> Response[str]:
    visit = wiring.visit(router, LEADS)
    account_id = visit.principal.account_id
    query = query_value("q") or ""
    cursor = query_cursor(router.current_event)
    shown: dict[str, Any] = {"errors": {}, "pages": lead_pages, "first_page": cursor is None}
    try:
        found = lead_pages.find_leads(
            account_id,
            query,
            cursor,
            query_value("since"),
            default_region=_default_region(account_id) if query else "",
            leads=leads,
            activity=activity,
            now=utc_now(),
        )
    except InvalidRequest as exc:
        empty = lead_pages.LeadList([], None, query[: lead_pages.MAX_QUERY], None)
        shown["errors"] = {d.field: d.message for d in exc.details}
        return wiring.show(visit, "leads.html", "Leads", 400, found=empty, **shown)
    return wiring.show(visit, "leads.html", "Leads", found=found, **shown)


@router.get(f"{LEADS.path}/<leadId>")
def get_lead(leadId: str) -> Response[str]:
    visit = wiring.visit(router, LEADS)
    view = lead_pages.lead_view(visit.principal, leadId, leads=leads, activity=activity, endpoints=endpoints)
    title = view.lead.name or view.lead.phone or view.lead.email or "Lead"
    return wiring.show(visit, "lead.html", title, view=view, pages=lead_pages)
