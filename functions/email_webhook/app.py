"""POST /api/webhooks/email: Resend's Svix-signed events. `email.received` is stored at once (metadata
only, deduplicated by svix-id); its content is fetched from Resend afterwards, off this path."""

from __future__ import annotations

from leadhub.platform import cold_start  # first: garbage collection waits until imports_done() below

# isort: split
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadhub.channels.email.inbound import MAX_BODY_BYTES, receive_email_event
from leadhub.conversations.adapters.dynamodb_conversations import DynamoConversationStore
from leadhub.conversations.adapters.dynamodb_routes import DynamoRoutes
from leadhub.conversations.caches import CachedRoutes
from leadhub.platform.adapters.ssm_secrets import SsmSecret
from leadhub.platform.settings import EmailWebhookSettings, load_settings
from leadhub.platform.timestamps import utc_now
from leadhub.platform.web import json_response, raw_body, register_error_handlers

settings = load_settings(EmailWebhookSettings)
logger = Logger()
app = APIGatewayHttpResolver()
register_error_handlers(app, logger)

store = DynamoConversationStore(settings.table_name)
routes = CachedRoutes(DynamoRoutes(settings.table_name), settings.route_cache_seconds)
webhook_secret = SsmSecret(settings.resend_webhook_secret_parameter)


@app.post("/api/webhooks/email")
def receive() -> Response[str]:
    event = app.current_event
    receipt = receive_email_event(
        raw_body(event, MAX_BODY_BYTES),
        event.headers,
        webhook_secret=webhook_secret.value(),
        receiving_domain=settings.resend_receiving_domain,
        routes=routes,
        store=store,
        now=utc_now(),
    )
    logger.info("email event handled", extra={"outcome": receipt.outcome, "reason": receipt.reason})
    return json_response(200, receipt.to_public())


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


cold_start.imports_done()
