"""The management API (X-API-Key) and operator routes (X-Admin-Key), with its OpenAPI document."""

from __future__ import annotations

from leadhub.platform import cold_start  # first: garbage collection waits until imports_done() below

# isort: split
import json
from functools import cache
from typing import Any

# Every route authenticates through deps and answers with a schema: imported with the handler.
import deps  # noqa: F401
import schemas  # noqa: F401
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadhub.platform.web import JSON, JsonBodyResolver, register_error_handlers

logger = Logger()
app = JsonBodyResolver()
register_error_handlers(app, logger)

# The route modules (routes/*.py) serving each first path segment after /api/. A module is imported and
# its router included with the first request that needs it: a cold start pays for its own resource's
# routes and domain code, not for all eleven modules. The OpenAPI document includes them all.
ROUTE_MODULES: dict[str, tuple[str, ...]] = {
    "admin": ("admin",),
    "accounts": ("accounts",),
    "leads": ("leads",),
    "api-keys": ("api_keys",),
    "audit": ("audit",),
    "webhook-endpoints": ("webhook_endpoints", "deliveries"),
    "deliveries": ("deliveries",),
    "integrations": ("integrations",),
    "conversations": ("conversations",),
    "automations": ("automations",),
    "responder": ("automations",),
    "dashboard": ("dashboard_links",),
    "widget": ("widget",),
}
ALL_ROUTE_MODULES = tuple(dict.fromkeys(name for names in ROUTE_MODULES.values() for name in names))
_included: set[str] = set()


def route_modules_for(raw_path: str) -> tuple[str, ...]:
    """The route modules that may serve `raw_path` (also behind a stage prefix)."""
    _, found, rest = raw_path.partition("/api/")
    segment = rest.split("/", 1)[0] if found else ""
    if segment in ("openapi.json", "docs"):  # the OpenAPI document and the docs page show every route
        return ALL_ROUTE_MODULES
    return ROUTE_MODULES.get(segment, ())


def include_routes(names: tuple[str, ...]) -> None:
    cold_start.include_route_modules(app, "routes", names, _included)


OPENAPI: dict[str, Any] = {
    "title": "Leadhub API",
    "version": "1.0.0",
    # OpenAPI security scheme objects as plain mappings: the resolver validates them into its models when
    # it renders the document, so cold starts skip importing those (~100 ms) until someone asks for it.
    "security_schemes": {
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "adminKey": {"type": "apiKey", "in": "header", "name": "X-Admin-Key"},
    },
}


@cache
def openapi_json() -> str:
    """The whole document (management routes, inbound webhooks, event catalog), built once per execution
    environment on the first request for it: its modules and the OpenAPI models (~100 ms) are imported
    then, not on cold starts serving anything else."""
    with cold_start.late_imports():
        import api_document

    return json.dumps(api_document.build(app, **OPENAPI))


@app.get("/api/openapi.json", include_in_schema=False)
def get_openapi() -> Response[str]:
    return Response(status_code=200, content_type=JSON, body=openapi_json())


@app.get("/api/docs", include_in_schema=False)
def get_docs() -> Response[str]:
    import api_document

    return Response(status_code=200, content_type="text/html", body=api_document.docs_page(openapi_json()))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    raw_path = str(event.get("rawPath", ""))
    include_routes(route_modules_for(raw_path))
    return app.resolve(event, context)


cold_start.imports_done()
