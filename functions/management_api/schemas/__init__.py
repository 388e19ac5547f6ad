"""Request and response bodies of the management API (they also make its OpenAPI document): one module
per resource, imported with that resource's routes, so a cold start builds only the models it serves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

# Request bodies' base, shared with the dashboard's forms.
from leadhub.platform.request_models import RequestSchema as RequestSchema

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import (
        OpenAPIResponse,
        OpenAPIResponseContentModel,
        OpenAPIResponseContentSchema,
        OpenAPIResponseHeader,
    )


class Schema(BaseModel):
    # Each model's validator and serializer are built when it is first used, not at import: a cold start
    # serves one route and needs one or two of these models, not all of them.
    model_config = ConfigDict(defer_build=True)


def absent_when_none(schema: dict[str, Any]) -> None:
    """For an optional field that is left out of the JSON rather than sent as null: no `default: null`
    in its JSON schema (which would contradict its type)."""
    schema.pop("default", None)


class FieldErrorOut(Schema):
    field: str = Field(description="The offending field (`body` for the body as a whole; `tags[2]` …)")
    message: str


class ErrorOut(Schema):
    """Every error answer (leadhub.platform.errors, mapped in leadhub.platform.web)."""

    error: str = Field(description="What went wrong, safe to show")
    details: list[FieldErrorOut] | SkipJsonSchema[None] = Field(
        default=None,
        json_schema_extra=absent_when_none,
        description="400 only: every problem with the request at once, one per field",
    )


# The error answers an operation declares, with what each means; `responses(…)` takes the statuses a
# route really returns. The error body is a reference to ErrorOut, added to the document when it is built
# (api_document): a `model` here would make every route build a validator for it on its first request.
ERROR_BODY: dict[str, OpenAPIResponseContentSchema | OpenAPIResponseContentModel] = {
    "application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}
}
ERRORS: Mapping[int, str] = {
    400: "Invalid request: `details` names every offending field (body, path or query parameter)",
    401: "Missing or invalid X-API-Key (operators' routes: X-Admin-Key)",
    403: "The API key lacks this operation's scope",
    404: "Not found in this account",
    409: "Conflicts with the resource's current state",
    413: "The body is too large",
    415: "The body is not application/json",
    502: "The provider's API (Graph API, Telegram Bot API, Resend) failed or could not be reached; retry",
    503: "Our storage (or a secret we need) is unavailable; nothing was half-written: retry",
}
RETRY_AFTER: dict[str, OpenAPIResponseHeader] = {
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}
}
# What every X-API-Key route can answer besides its own statuses.
KEYED = (401, 403, 503)
# …and every route that reads a JSON body.
JSON_BODY = (400, 415)


def responses(success: int, *errors: int, why: Mapping[int, str] | None = None) -> dict[int, OpenAPIResponse]:
    """The `responses` of a route: its success status (its body is the route's return type; none for a
    204) and the error statuses it answers, each with the error body and a description (`why` overrides
    one for this route). Powertools' own 422 is dropped from the document: validation errors are 400."""
    declared: dict[int, OpenAPIResponse] = {success: {"description": _SUCCESS.get(success, "Success")}}
    if success == 204:
        declared[success]["content"] = {}
    for status in sorted(set(errors)):
        declared[status] = {"description": (why or {}).get(status, ERRORS[status]), "content": ERROR_BODY}
        if status == 503:
            declared[status]["headers"] = RETRY_AFTER
    return declared


_SUCCESS = {200: "OK", 201: "Created", 202: "Accepted: queued, done shortly", 204: "Done; no body"}
