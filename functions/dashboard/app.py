"""The dashboard: server-rendered pages for the browser, on the same HTTP API as the webhooks and the
management API (routes `ANY /` and `ANY /{proxy+}`; the more specific `/api/...` routes keep theirs)."""

from __future__ import annotations

from leadhub.platform import cold_start  # first: garbage collection waits until imports_done() below

# isort: split
from typing import Any

import wiring  # noqa: F401  (settings are read and repositories built at cold start)
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.typing import LambdaContext
from pages import (
    api_keys,
    assets,
    audit,
    automations,
    channels,
    inbox,
    leads,
    overview,
    sign_in,
    webhooks,
    widget,
)

from leadhub.dashboard.http import register_error_pages, secured

logger = Logger()
app = APIGatewayHttpResolver()
register_error_pages(app, logger)
for pages in (
    sign_in,
    overview,
    leads,
    inbox,
    channels,
    widget,
    automations,
    webhooks,
    api_keys,
    audit,
    assets,
):
    app.include_router(pages.router)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return secured(app.resolve(event, context))


cold_start.imports_done()
