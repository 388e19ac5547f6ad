"""The OpenAPI document of Leadhub's whole HTTP API, built when someone asks for it (`/api/openapi.json`,
`/api/docs`), never on a cold start serving anything else.

Powertools generates the management routes' part from the routes and their pydantic models; this adds
what it cannot know: the inbound webhooks, which other functions serve (described in
`inbound_webhooks`, not imported from their handlers), the catalog of the events we POST to customers'
endpoints as OpenAPI 3.1 `webhooks` (`events`), and the error body the routes' responses refer to. It
also drops the 422 Powertools declares for every operation: our validation errors are 400
(leadhub.platform.web), and Powertools has no setting for that
(aws-powertools/powertools-lambda-python#4928)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from schemas import ErrorOut

from api_document import events, inbound_webhooks, widget_public

REF_TEMPLATE = "#/components/schemas/{model}"
DESCRIPTION = """Leadhub's HTTP API, in four parts:

* **Management API** (`/api/…`): accounts, API keys, leads, conversations, automations, channel
  integrations, outbound webhook endpoints and their deliveries. Authenticate with the `X-API-Key` header
  (keys carry scopes); the operators' routes under `/api/admin` take `X-Admin-Key`. Every error is
  `{"error": "…"}`, and a 400 also lists every offending field in `details: [{"field", "message"}]`.
* **Inbound webhooks** (tag *Inbound webhooks*): what CRMs, form tools, Meta (WhatsApp), Telegram and
  Resend (email) POST to Leadhub, each with the authentication it carries — the account's token in the
  lead webhook's path, `X-Hub-Signature-256`, `X-Telegram-Bot-Api-Secret-Token`, or the Svix headers.
* **Website widget** (tag *Website widget (public)*): `/widget.js` and the endpoints the widget calls
  from visitors' browsers, behind the widget's origin allow-list (its settings: `/api/widget`).
* **Events** (`webhooks`): the catalog of events Leadhub POSTs to your endpoints, one entry per event
  type with its payload — the envelope `{"id", "event", "timestamp", "accountId", "data"}` — and the
  signature headers (Standard Webhooks `webhook-id`, `webhook-timestamp`, `webhook-signature`, and
  `X-Leadhub-Signature`, `X-Leadhub-Event`, `X-Leadhub-Delivery-Id`). An endpoint with a payload
  template receives the rendered template instead of the envelope."""
TAGS = [
    {"name": "Inbound webhooks", "description": "Served by their own functions; shown here for reference."},
    {
        "name": "Website widget (public)",
        "description": "Served by the widget's own function, for the widget's script; shown for reference.",
    },
    {"name": "Events", "description": "What Leadhub POSTs to your webhook endpoints (the `webhooks`)."},
]


def build(app: ApiGatewayResolver, **openapi: Any) -> dict[str, Any]:
    """The whole document, as JSON-ready data (every route module must be included in `app`)."""
    generated = app.get_openapi_schema(**{**openapi, "description": DESCRIPTION})
    document: dict[str, Any] = generated.model_dump(by_alias=True, exclude_none=True, mode="json")
    for path_item in document["paths"].values():
        for operation in path_item.values():
            operation["responses"].pop("422", None)
            for response in operation["responses"].values():
                if response.get("content") == {}:  # a 204: no body
                    del response["content"]
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    schemas.update(json_schemas([ErrorOut, *events.MODELS]))
    schemas.update(inbound_webhooks.SCHEMAS)
    schemas.update(widget_public.SCHEMAS)
    components.setdefault("securitySchemes", {}).update(inbound_webhooks.SECURITY_SCHEMES)
    components["securitySchemes"].update(widget_public.SECURITY_SCHEMES)
    document["paths"].update(inbound_webhooks.PATHS)
    document["paths"].update(widget_public.PATHS)
    document["webhooks"] = events.webhooks()
    document["tags"] = [*document.get("tags", []), *TAGS]
    return document


def json_schemas(models: Iterable[type[BaseModel]]) -> dict[str, Any]:
    """The models' JSON schemas as the document's components (the ones they refer to included)."""
    _, definitions = models_json_schema(
        [(model, "serialization") for model in models], ref_template=REF_TEMPLATE
    )
    return dict(definitions.get("$defs", {}))


def docs_page(document_json: str) -> str:
    """Swagger UI with the document inline, from the files Powertools ships (no third-party host). Not
    `enable_swagger`: it renders the generated document alone, without the inbound webhooks and events."""
    from aws_lambda_powertools.event_handler.openapi import swagger_ui
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

    folder = Path(swagger_ui.__file__).parent
    # "</" escaped: the JSON sits inside a <script> element.
    spec = document_json.replace("</", "<\\/")
    script = (folder / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    style = (folder / "swagger-ui.min.css").read_text(encoding="utf-8")
    return generate_swagger_html(spec, script, style, "", None)
