"""Turning a lead webhook request body (JSON or form-encoded) into a validated LeadSubmission."""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from leadhub.errors import FieldError, InvalidRequest, UnsupportedMediaType
from leadhub.models.lead_submission import (
    MAX_CUSTOM_FIELDS_PER_REQUEST,
    MAX_CUSTOM_KEY_CHARS,
    MAX_CUSTOM_VALUE_CHARS,
    LeadSubmission,
    extra_as_text,
    validate_submission,
)

MAX_BODY_BYTES = 64 * 1024
_MAX_FORM_FIELDS = 200
_JSON_TYPES = frozenset({"application/json", "text/json", "text/plain", ""})
_FORM_TYPE = "application/x-www-form-urlencoded"
_LIST_FIELDS = frozenset({"tags", "tags[]"})


def decode_lead_payload(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The body as a dict of fields. JSON (also without a Content-Type, or as text/plain) or form-encoded."""
    media_type, _, params = (content_type or "").partition(";")
    media_type = media_type.strip().lower()
    charset = _charset(params)
    text = _decode_text(body, charset)
    if media_type in _JSON_TYPES or media_type.endswith("+json"):
        return _parse_json_object(text)
    if media_type == _FORM_TYPE:
        return _parse_form(text, charset)
    raise UnsupportedMediaType(
        f"Unsupported Content-Type {media_type!r}: send application/json or application/x-www-form-urlencoded"
    )


def parse_lead_submission(payload: dict[str, Any], default_region: str) -> LeadSubmission:
    """Validate the fields; every problem is reported with the field it concerns."""
    submission = validate_submission(payload, default_region)
    _check_custom_fields(submission.extra)
    return submission


def _charset(params: str) -> str:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"')
            try:
                return codecs.lookup(charset).name
            except LookupError:
                raise UnsupportedMediaType(f"Unsupported charset {charset!r}") from None
    return "utf-8"


def _decode_text(body: bytes, charset: str) -> str:
    try:
        return body.decode(charset)
    except UnicodeDecodeError:
        raise InvalidRequest(f"Body is not valid {charset} text") from None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _parse_json_object(text: str) -> dict[str, Any]:
    if not text.strip():
        raise InvalidRequest("Body is empty: send a JSON object with at least a phone")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            f"Body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except (ValueError, RecursionError) as exc:
        message = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise InvalidRequest(f"Body is not valid JSON: {message}") from None
    if not isinstance(value, dict):
        raise InvalidRequest(f"Body must be a JSON object, not {type(value).__name__}")
    return value


def _parse_form(text: str, charset: str) -> dict[str, Any]:
    try:
        pairs = parse_qs(text, keep_blank_values=True, max_num_fields=_MAX_FORM_FIELDS, encoding=charset)
    except ValueError:
        raise InvalidRequest(f"Form body has more than {_MAX_FORM_FIELDS} fields") from None
    payload: dict[str, Any] = {}
    for name, values in pairs.items():
        if name in _LIST_FIELDS:
            payload.setdefault("tags", []).extend(tag for value in values for tag in value.split(","))
        else:
            payload[name] = values[-1]
    return payload


def _check_custom_fields(extras: Mapping[str, Any]) -> None:
    if len(extras) > MAX_CUSTOM_FIELDS_PER_REQUEST:
        raise InvalidRequest(
            "Invalid lead",
            [FieldError("body", f"at most {MAX_CUSTOM_FIELDS_PER_REQUEST} custom fields per request")],
        )
    errors = []
    for key, value in extras.items():
        if not key.strip() or len(key) > MAX_CUSTOM_KEY_CHARS:
            errors.append(FieldError(key[:80], f"field names are 1 to {MAX_CUSTOM_KEY_CHARS} characters"))
            continue
        text = extra_as_text(value)
        if text is not None and len(text) > MAX_CUSTOM_VALUE_CHARS:
            errors.append(
                FieldError(key, f"custom field values are at most {MAX_CUSTOM_VALUE_CHARS} characters")
            )
    if errors:
        raise InvalidRequest("Invalid lead", errors)
