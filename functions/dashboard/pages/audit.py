"""The audit log (/audit): newest first, a page at a time."""

from __future__ import annotations

import wiring
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from leadhub.dashboard.http import query_cursor
from leadhub.dashboard.navigation import AUDIT

router = Router()
PAGE_SIZE = 25


@router.get(AUDIT.path)
def get_audit() -> Response[str]:
    visit = wiring.visit(router, AUDIT)
    cursor = query_cursor(router.current_event)
    entries = wiring.accounts.list_audit(visit.principal.account_id, PAGE_SIZE, cursor)
    return wiring.show(visit, "audit.html", "Audit log", entries=entries, first_page=cursor is None)
