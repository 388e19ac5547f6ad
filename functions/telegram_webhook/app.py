"""POST /api/webhooks/telegram: one Update per request from a connected bot; the secret-token header
identifies the account. Stored durably (deduplicated by update id) before we answer 200."""

from __future__ import annotations

from leadhub.platform import cold_start  # first: garbage collection waits until imports_done() below

# isort: split
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadhub.channels.telegram.updates import MAX_BODY_BYTES, receive_telegram
from leadhub.conversations.adapters.dynamodb_conversations import DynamoConversationStore
from leadhub.conversations.adapters.dynamodb_routes import DynamoRoutes
from leadhub.conversations.caches import CachedRoutes
from leadhub.platform.settings import TelegramWebhookSettings, load_settings
from leadhub.platform.timestamps import utc_now
from leadhub.platform.web import json_response, raw_body, register_error_handlers

settings = load_settings(TelegramWebhookSettings)
logger = Logger()
app = APIGatewayHttpResolver()
register_error_handlers(app, logger)

store = DynamoConversationStore(settings.table_name)
routes = CachedRoutes(DynamoRoutes(settings.table_name), settings.route_cache_seconds)


@app.post("/api/webhooks/telegram")
def receive() -> Response[str]:
    event = app.current_event
    receipt = receive_telegram(
        raw_body(event, MAX_BODY_BYTES),
        event.headers.get("x-telegram-bot-api-secret-token"),
        routes=routes,
        store=store,
        now=utc_now(),
    )
    logger.info(
        "telegram update handled",
        extra={"outcome": receipt.outcome, "reason": receipt.reason, "answered": receipt.answer is not None},
    )
    return json_response(200, receipt.to_public())  # a button press: answerCallbackQuery, run by Telegram


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


cold_start.imports_done()
