"""The audit log (/audit): newest first, a page at a time."""

from __future__ import annotations

import wiring
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from leadhub.dashboard.navigation import AUDIT
from leadhub.errors import FieldError, InvalidRequest

router = Router()
PAGE_SIZE = 25
MAX_CURSOR = 2048  # as the API's `cursor` parameter


@router.get(AUDIT.path)
def get_audit() -> Response[str]:
    visit = wiring.visit(router, AUDIT)
    cursor = router.current_event.get_query_string_value("cursor") or None
    if cursor is not None and len(cursor) > MAX_CURSOR:
        raise InvalidRequest("Invalid cursor", [FieldError("cursor", "not a cursor of this listing")])
    entries = wiring.accounts.list_audit(visit.principal.account_id, PAGE_SIZE, cursor)
    return wiring.show(visit, "audit.html", "Audit log", entries=entries, first_page=cursor is None)
