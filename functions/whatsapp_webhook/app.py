"""GET|POST /api/webhooks/meta-whatsapp: Meta's subscription handshake, and signed WhatsApp Cloud API
notifications (messages and statuses) stored durably before we answer 200."""

from __future__ import annotations

from leadhub.platform import cold_start  # first: garbage collection waits until imports_done() below

# isort: split
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadhub.channels.whatsapp.notifications import MAX_BODY_BYTES, answer_subscription, receive_whatsapp
from leadhub.conversations.adapters.dynamodb_conversations import DynamoConversationStore
from leadhub.conversations.adapters.dynamodb_routes import DynamoRoutes
from leadhub.conversations.caches import CachedRoutes
from leadhub.platform.adapters.ssm_secrets import SsmSecret
from leadhub.platform.settings import WhatsappWebhookSettings, load_settings
from leadhub.platform.timestamps import utc_now
from leadhub.platform.web import json_response, raw_body, register_error_handlers

settings = load_settings(WhatsappWebhookSettings)
logger = Logger()
app = APIGatewayHttpResolver()
register_error_handlers(app, logger)

store = DynamoConversationStore(settings.table_name)
routes = CachedRoutes(DynamoRoutes(settings.table_name), settings.route_cache_seconds)
app_secret = SsmSecret(settings.meta_app_secret_parameter)
verify_token = SsmSecret(settings.meta_verify_token_parameter)


@app.get("/api/webhooks/meta-whatsapp")
def verify_subscription() -> Response[str]:
    challenge = answer_subscription(app.current_event.query_string_parameters or {}, verify_token.value())
    return Response(status_code=200, content_type="text/plain", body=challenge)


@app.post("/api/webhooks/meta-whatsapp")
def receive() -> Response[str]:
    event = app.current_event
    receipt = receive_whatsapp(
        raw_body(event, MAX_BODY_BYTES),
        event.headers.get("x-hub-signature-256"),
        app_secret=app_secret.value(),
        skip_signature_check=settings.meta_skip_signature_check,
        routes=routes,
        store=store,
        now=utc_now(),
    )
    logger.info("whatsapp notification stored", extra=receipt.to_log())
    if receipt.error_codes:  # codes only: Meta's messages may quote message content
        logger.warning("whatsapp notification reports errors", extra={"codes": list(receipt.error_codes)})
    if receipt.unstorable:  # acknowledged all the same: Meta would retry them for days, in vain
        logger.warning("whatsapp messages ignored as unstorable", extra={"reasons": receipt.unstorable})
    return json_response(200, {"received": True, **receipt.to_log()})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


cold_start.imports_done()
