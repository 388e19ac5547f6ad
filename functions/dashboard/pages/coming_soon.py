"""Sections whose pages are still to be built: a page that says so, and which API routes do the work
meanwhile. A section's own module (pages/<section>.py) replaces its function here."""

from __future__ import annotations

import wiring
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from leadhub.dashboard.navigation import INBOX, LEADS, WEBHOOKS, Section

router = Router()


def _coming(section: Section, api: str) -> Response[str]:
    visit = wiring.visit(router, section)
    return wiring.show(visit, "coming_soon.html", section.label, api=api)


@router.get(LEADS.path)
@router.get(f"{LEADS.path}/<leadId>")
def get_leads(leadId: str | None = None) -> Response[str]:
    return _coming(LEADS, "GET /api/leads, GET /api/leads/{leadId}")


@router.get(INBOX.path)
@router.get(f"{INBOX.path}/<conversationId>")
def get_inbox(conversationId: str | None = None) -> Response[str]:
    return _coming(INBOX, "GET /api/conversations, POST /api/conversations/{conversationId}/messages")


@router.get(WEBHOOKS.path)
@router.get(f"{WEBHOOKS.path}/<endpointId>")
def get_webhooks(endpointId: str | None = None) -> Response[str]:
    return _coming(WEBHOOKS, "/api/webhook-endpoints, /api/webhook-endpoints/{endpointId}/deliveries")
