"""The overview (/): the lead webhook and recent activity; rotating the webhook token."""

from __future__ import annotations

import wiring
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from leadhub.accounts.accounts import rotate_webhook_token
from leadhub.accounts.models import Scope
from leadhub.conversations.adapters.dynamodb_conversations import DynamoConversationStore
from leadhub.dashboard.http import redirect
from leadhub.dashboard.navigation import OVERVIEW
from leadhub.dashboard.overview import overview
from leadhub.leads.adapters.dynamodb_leads import DynamoLeadRepository
from leadhub.outbound.adapters.dynamodb_delivery_log import DynamoDeliveryLog
from leadhub.outbound.adapters.dynamodb_endpoints import DynamoEndpointRepository
from leadhub.platform.timestamps import utc_now

router = Router()
leads = DynamoLeadRepository(wiring.settings.table_name)
conversations = DynamoConversationStore(wiring.settings.table_name)
endpoints = DynamoEndpointRepository(wiring.settings.table_name)
deliveries = DynamoDeliveryLog(wiring.settings.table_name)
ROTATE_PATH = "/settings/webhook-token"


@router.get("/")
def get_overview() -> Response[str]:
    visit = wiring.visit(router, OVERVIEW)
    view = overview(
        visit.principal,
        wiring.public_base_url(router),
        accounts=wiring.accounts,
        cipher=wiring.cipher,
        leads=leads,
        conversations=conversations,
        endpoints=endpoints,
        deliveries=deliveries,
        now=utc_now(),
    )
    rotated = router.current_event.get_query_string_value("rotated") == "1"
    return wiring.show(visit, "overview.html", "Overview", view=view, rotated=rotated)


@router.get(ROTATE_PATH)
def get_rotate_token() -> Response[str]:
    visit = wiring.visit(router, OVERVIEW)
    visit.require(Scope.ACCOUNT_MANAGE)
    return wiring.show(visit, "rotate_token.html", "Rotate the webhook token")


@router.post(ROTATE_PATH)
def post_rotate_token() -> Response[str]:
    visit, _ = wiring.change(router, OVERVIEW, Scope.ACCOUNT_MANAGE)
    rotate_webhook_token(visit.principal, accounts=wiring.accounts, cipher=wiring.cipher, now=utc_now())
    return redirect("/?rotated=1")
