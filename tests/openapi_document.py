"""Checking JSON against the schemas of Leadhub's OpenAPI document (/api/openapi.json), as a client or a
receiver of our events would: the schema at a place in the document, with its `#/components/…` refs."""

from __future__ import annotations

from typing import Any

import jsonschema

JSON = "application/json"


def schema_at(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` made standalone: its `#/components/schemas/…` refs resolve against the document's."""
    return {**schema, "components": {"schemas": document["components"]["schemas"]}}


def validate(document: dict[str, Any], schema: dict[str, Any], instance: Any) -> None:
    """Raises jsonschema.ValidationError unless `instance` matches."""
    jsonschema.Draft202012Validator(schema_at(document, schema)).validate(instance)


def event_schema(document: dict[str, Any], event: str) -> dict[str, Any]:
    """The catalog's schema of the body we POST for `event`."""
    return document["webhooks"][event]["post"]["requestBody"]["content"][JSON]["schema"]


def validate_event(document: dict[str, Any], body: dict[str, Any]) -> None:
    validate(document, event_schema(document, body["event"]), body)


def validate_response(document: dict[str, Any], method: str, path: str, status: int, body: Any) -> None:
    """The answer is documented for the operation (status and, for JSON, body)."""
    responses = document["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} answered an undocumented {status}"
    content = responses[str(status)].get("content", {})
    if JSON in content:
        validate(document, content[JSON]["schema"], body)
