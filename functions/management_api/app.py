"""The management API (X-API-Key) and operator routes (X-Admin-Key), with its OpenAPI document."""

from __future__ import annotations

from leadhub import cold_start  # first: garbage collection waits until imports_done() below

# isort: split
import importlib
import threading
from typing import Any

# Every route authenticates through deps and answers with a schema: imported with the handler.
import deps  # noqa: F401
import schemas  # noqa: F401
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadhub.web import JSON, register_error_handlers, register_validation_errors

logger = Logger()
app = APIGatewayHttpResolver(enable_validation=True)
register_error_handlers(app, logger)
register_validation_errors(app)

# The route modules (routes/*.py) serving each first path segment after /api/. A module is imported and
# its router included with the first request that needs it: a cold start pays for its own resource's
# routes and domain code, not for all ten modules. The OpenAPI document includes them all.
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
    for name in names:
        if name not in _included:
            with cold_start.late_imports():
                app.include_router(importlib.import_module(f"routes.{name}").router)
            _included.add(name)


DOCS_PATH = "/api/docs"
OPENAPI: dict[str, Any] = {
    "title": "Leadhub management API",
    "version": "1.0.0",
    "description": "Accounts, API keys, leads and audit. Authenticate with the X-API-Key header.",
    # OpenAPI security scheme objects as plain mappings: the resolver validates them into its models when
    # it renders the document, so cold starts skip importing those (~100 ms) until someone asks for it.
    "security_schemes": {
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "adminKey": {"type": "apiKey", "in": "header", "name": "X-Admin-Key"},
    },
}
_docs_lock = threading.Lock()
_docs_registered = False


def _register_docs_page() -> None:
    """Powertools' swagger page, registered when first asked for: `enable_swagger` imports the OpenAPI
    models (~100 ms) as it is called, which every other route's cold start would pay at import."""
    global _docs_registered
    with _docs_lock:
        if not _docs_registered:
            app.enable_swagger(path=DOCS_PATH, **OPENAPI)
            _docs_registered = True


@app.get("/api/openapi.json", include_in_schema=False)
def get_openapi() -> Response[str]:
    return Response(status_code=200, content_type=JSON, body=app.get_openapi_json_schema(**OPENAPI))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    raw_path = str(event.get("rawPath", ""))
    include_routes(route_modules_for(raw_path))
    if raw_path.endswith(DOCS_PATH):  # also behind a stage prefix
        _register_docs_page()
    return app.resolve(event, context)


cold_start.imports_done()
