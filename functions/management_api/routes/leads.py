"""Reading the account's leads."""

from __future__ import annotations

from typing import Annotated

import deps
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from schemas import KEYED, responses
from schemas.leads import LeadOut, LeadPageOut

from leadhub.domain.leads import get_lead, list_leads
from leadhub.models.account import Scope
from routes.paging import Cursor, Limit

router = Router()


@router.get(
    "/api/leads",
    summary="List leads, newest first",
    security=deps.API_KEY_SECURITY,
    tags=["Leads"],
    responses=responses(200, 400, *KEYED),
)
def get_leads(limit: Limit = 25, cursor: Cursor = None) -> LeadPageOut:
    caller = deps.principal(router, Scope.LEADS_READ)
    page = list_leads(caller.account_id, limit, cursor, leads=deps.leads)
    return LeadPageOut(
        items=[LeadOut.model_validate(lead.to_public()) for lead in page.items], nextCursor=page.next_cursor
    )


@router.get(
    "/api/leads/<leadId>",
    summary="One lead",
    security=deps.API_KEY_SECURITY,
    tags=["Leads"],
    responses=responses(200, 400, 404, *KEYED),
)
def get_one_lead(leadId: Annotated[str, Path(max_length=64)]) -> LeadOut:
    caller = deps.principal(router, Scope.LEADS_READ)
    return LeadOut.model_validate(get_lead(caller.account_id, leadId, leads=deps.leads).to_public())
