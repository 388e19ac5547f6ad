"""Sections whose pages are still to be built: a page that says so, and which API routes do the work
meanwhile. A section's own module (pages/<section>.py) replaces its function here."""

from __future__ import annotations

import wiring
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from leadhub.dashboard.navigation import AUTOMATIONS, CHANNELS, Section

router = Router()


def _coming(section: Section, api: str) -> Response[str]:
    visit = wiring.visit(router, section)
    return wiring.show(visit, "coming_soon.html", section.label, api=api)


@router.get(CHANNELS.path)
def get_channels() -> Response[str]:
    return _coming(CHANNELS, "PUT /api/integrations/whatsapp, /telegram, /email")


@router.get(AUTOMATIONS.path)
def get_automations() -> Response[str]:
    return _coming(AUTOMATIONS, "/api/automations, /api/responder")
