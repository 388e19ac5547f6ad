"""The dashboard: server-rendered pages for the browser, on the same HTTP API as the webhooks and the
management API (routes `ANY /` and `ANY /{proxy+}`; the more specific `/api/...` routes keep theirs)."""

from __future__ import annotations

from leadhub.platform import cold_start  # first: garbage collection waits until imports_done() below

# isort: split
from typing import Any

import wiring  # noqa: F401  (settings are read and repositories built at cold start)
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadhub.dashboard.http import register_error_pages, secured

logger = Logger()
app = APIGatewayHttpResolver()
register_error_pages(app, logger)

# The page modules (pages/*.py) serving each first path segment. A module is imported and its router
# included with the first request that needs it: the overview's cold start skips the other sections' pages
# and domain code (measured: -26 ms of ~260 ms).
PAGE_MODULES: dict[str, tuple[str, ...]] = {
    "": ("overview",),
    "settings": ("overview", "api_keys"),
    "login": ("sign_in",),
    "logout": ("sign_in",),
    "leads": ("leads",),
    "inbox": ("inbox",),
    "channels": ("channels", "widget"),
    "automations": ("automations",),
    "webhooks": ("webhooks",),
    "audit": ("audit",),
    "assets": ("assets",),
}
ALL_PAGE_MODULES = tuple(dict.fromkeys(name for names in PAGE_MODULES.values() for name in names))
_included: set[str] = set()


def page_modules_for(path: str) -> tuple[str, ...]:
    """The page modules that may serve `path` (as the resolver matches it: without a stage prefix)."""
    return PAGE_MODULES.get(path.lstrip("/").split("/", 1)[0], ())


def include_pages(names: tuple[str, ...]) -> None:
    cold_start.include_route_modules(app, "pages", names, _included)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    include_pages(page_modules_for(APIGatewayProxyEventV2(event).path))
    return secured(app.resolve(event, context))


cold_start.imports_done()
