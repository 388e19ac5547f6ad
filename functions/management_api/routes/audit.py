"""The account's audit log."""

from __future__ import annotations

import deps
from aws_lambda_powertools.event_handler.api_gateway import Router
from schemas import KEYED, responses
from schemas.audit import AuditEntryOut, AuditPageOut

from leadhub.models.account import Scope
from routes.paging import Cursor, Limit

router = Router()


@router.get(
    "/api/audit",
    summary="Audit entries, newest first",
    security=deps.API_KEY_SECURITY,
    tags=["Account"],
    responses=responses(200, 400, *KEYED),
)
def get_audit(limit: Limit = 25, cursor: Cursor = None) -> AuditPageOut:
    caller = deps.principal(router, Scope.ACCOUNT_VIEW)
    page = deps.accounts.list_audit(caller.account_id, limit, cursor)
    return AuditPageOut(
        items=[AuditEntryOut.model_validate(entry.to_public()) for entry in page.items],
        nextCursor=page.next_cursor,
    )
