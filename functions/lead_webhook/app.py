"""POST /api/webhooks/leads/{token}: a CRM or form tool posts a lead to its account's token URL."""

from __future__ import annotations

from leadhub.platform import cold_start  # first: garbage collection waits until imports_done() below

# isort: split
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadhub.accounts.adapters.dynamodb_accounts import DynamoAccountRepository
from leadhub.accounts.caches import CachedTokenOwners
from leadhub.leads.adapters.dynamodb_leads import DynamoLeadRepository
from leadhub.leads.intake import MAX_BODY_BYTES
from leadhub.leads.leads import receive_lead
from leadhub.platform.settings import LeadWebhookSettings, load_settings
from leadhub.platform.timestamps import utc_now
from leadhub.platform.web import json_response, raw_body, register_error_handlers

settings = load_settings(LeadWebhookSettings)
logger = Logger()
app = APIGatewayHttpResolver()
register_error_handlers(app, logger)

leads = DynamoLeadRepository(settings.table_name)
token_owners = CachedTokenOwners(DynamoAccountRepository(settings.table_name), settings.token_cache_seconds)


@app.post("/api/webhooks/leads/<token>")
def post_lead(token: str) -> Response[str]:
    event = app.current_event
    receipt = receive_lead(
        token,
        raw_body(event, MAX_BODY_BYTES),
        event.headers.get("content-type"),
        owners=token_owners,
        leads=leads,
        now=utc_now(),
    )
    logger.info("lead received", extra={"lead_id": receipt.lead.lead_id, "new_lead": receipt.created})
    return json_response(201 if receipt.created else 200, receipt.to_public())


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


cold_start.imports_done()
