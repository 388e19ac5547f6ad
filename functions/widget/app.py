"""The website chat widget's public side: GET /widget.js (the script customers embed) and the endpoints a
visitor's browser calls, /widget/v1/{widgetKey}/session|messages|contact. A function of its own with a
concurrency limit of its own (template.yaml), so one site's traffic never slows the webhooks.

CORS is answered here, preflights included: the origins allowed are each widget's own list."""

from __future__ import annotations

from leadhub.platform import cold_start  # first: garbage collection waits until imports_done() below

# isort: split
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadhub.channels.web import visitors
from leadhub.channels.web.adapters.dynamodb_widget import (
    CachedWidgetLookup,
    DynamoRateLimiter,
    DynamoVisitorStore,
    DynamoWidgets,
)
from leadhub.channels.web.requests import MAX_BODY_BYTES
from leadhub.channels.web.script import compressed, widget_script
from leadhub.leads.adapters.dynamodb_leads import DynamoLeadRepository
from leadhub.platform.adapters.ssm_secrets import SsmSecret
from leadhub.platform.settings import WidgetFunctionSettings, load_settings
from leadhub.platform.timestamps import utc_now
from leadhub.platform.web import json_response, raw_body, register_error_handlers

settings = load_settings(WidgetFunctionSettings)
logger = Logger()
app = APIGatewayHttpResolver()
register_error_handlers(app, logger)

# The ports, built once per execution environment.
widgets = CachedWidgetLookup(DynamoWidgets(settings.table_name), settings.widget_cache_seconds)
visitor_store = DynamoVisitorStore(settings.table_name)
limiter = DynamoRateLimiter(settings.table_name)
leads = DynamoLeadRepository(settings.table_name)
secret = SsmSecret(settings.widget_secret_parameter)
_STATIC = Path(__file__).with_name("static")
SCRIPT = widget_script((_STATIC / "widget.js").read_text(), (_STATIC / "widget.css").read_text())
SCRIPT_GZIP = compressed(SCRIPT)
_SCRIPT_HEADERS = {
    "Cache-Control": "public, max-age=300",
    "Vary": "Accept-Encoding",
    "X-Content-Type-Options": "nosniff",
}
API_PREFIX = "/widget/v1/"
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST",
    "Access-Control-Allow-Headers": "Content-Type, X-Leadhub-Visitor, X-Leadhub-Page, X-Leadhub-After",
    "Access-Control-Max-Age": "600",
}


@app.get("/widget.js")
def script() -> Response[str | bytes]:
    if "gzip" in (app.current_event.headers.get("accept-encoding") or ""):
        headers = {**_SCRIPT_HEADERS, "Content-Encoding": "gzip"}
        return Response(200, "application/javascript; charset=utf-8", SCRIPT_GZIP, headers)
    return Response(200, "application/javascript; charset=utf-8", SCRIPT, _SCRIPT_HEADERS)


def _call(widget_key: str) -> visitors.WidgetCall:
    event = app.current_event
    return visitors.WidgetCall(
        widget_key=widget_key,
        origin=event.headers.get("origin"),
        client_ip=event.request_context.http.source_ip,
        visitor_token=event.headers.get("x-leadhub-visitor"),
        page_token=event.headers.get("x-leadhub-page"),
    )


def _body() -> tuple[bytes, str | None]:
    event = app.current_event
    return raw_body(event, MAX_BODY_BYTES), event.headers.get("content-type")


@app.route(f"{API_PREFIX}<widget_key>/<action>", method="OPTIONS")
def preflight(widget_key: str, action: str) -> Response[str]:
    visitors.preflight(_call(widget_key), widgets=widgets)
    return Response(204, headers=PREFLIGHT_HEADERS)


@app.post(f"{API_PREFIX}<widget_key>/session")
def session(widget_key: str) -> Response[str]:
    body, content_type = _body()
    opened = visitors.start_session(
        _call(widget_key),
        body,
        content_type,
        widgets=widgets,
        visitors=visitor_store,
        limiter=limiter,
        secret=secret,
        now=utc_now(),
    )
    return json_response(200, opened.to_public())


@app.post(f"{API_PREFIX}<widget_key>/messages")
def post_message(widget_key: str) -> Response[str]:
    body, content_type = _body()
    receipt = visitors.post_message(
        _call(widget_key),
        body,
        content_type,
        widgets=widgets,
        visitors=visitor_store,
        limiter=limiter,
        secret=secret,
        now=utc_now(),
    )
    return json_response(201 if receipt.stored else 200, receipt.to_public())


@app.get(f"{API_PREFIX}<widget_key>/messages")
def get_messages(widget_key: str) -> Response[str]:
    # The cursor is a header, not a query parameter: the URL stays the same, and so does the browser's
    # cached CORS preflight for it.
    after = app.current_event.headers.get("x-leadhub-after")
    poll = visitors.poll_messages(
        _call(widget_key), after, widgets=widgets, visitors=visitor_store, secret=secret, now=utc_now()
    )
    return json_response(200, poll.to_public(), {"Cache-Control": "no-store"})


@app.post(f"{API_PREFIX}<widget_key>/contact")
def contact(widget_key: str) -> Response[str]:
    body, content_type = _body()
    receipt = visitors.leave_contact(
        _call(widget_key),
        body,
        content_type,
        widgets=widgets,
        visitors=visitor_store,
        limiter=limiter,
        leads=leads,
        secret=secret,
        now=utc_now(),
    )
    logger.info("widget contact captured", extra={"lead_created": receipt.created})
    return json_response(200, receipt.to_public())


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = app.resolve(event, context)
    with_cors(event, response)
    return response


def with_cors(event: dict[str, Any], response: dict[str, Any]) -> None:
    """Answers (errors too) to a page whose origin the widget allows carry that origin's CORS headers;
    a refused origin gets none, so its page cannot read anything."""
    path = str(event.get("rawPath", ""))
    if not path.startswith(API_PREFIX):
        return
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    call = visitors.WidgetCall(path[len(API_PREFIX) :].split("/", 1)[0], headers.get("origin"), "")
    try:
        origin = visitors.cors_origin(call, widgets=widgets)
    except Exception:  # storage failed: the answer (a 503 already) goes without CORS headers
        logger.exception("widget lookup for CORS failed")
        return
    answer_headers = response.setdefault("headers", {})
    answer_headers["Vary"] = "Origin"
    if origin is not None:
        answer_headers["Access-Control-Allow-Origin"] = origin
        answer_headers["Access-Control-Expose-Headers"] = "Retry-After"


cold_start.imports_done()
