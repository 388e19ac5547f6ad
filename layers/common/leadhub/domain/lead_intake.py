"""Turning a lead webhook request body (JSON or form-encoded) into a validated LeadSubmission."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from leadhub import json_text
from leadhub.errors import FieldError, InvalidRequest, UnsupportedMediaType
from leadhub.json_text import has_surrogates, printable
from leadhub.models.lead_submission import (
    MAX_CUSTOM_FIELDS_PER_REQUEST,
    MAX_CUSTOM_KEY_CHARS,
    MAX_CUSTOM_VALUE_CHARS,
    NOT_UNICODE,
    LeadSubmission,
    extra_as_text,
    validate_submission,
)

MAX_BODY_BYTES = 64 * 1024
_MAX_FORM_FIELDS = 200
_JSON_TYPES = frozenset({"application/json", "text/json", "text/plain", ""})
_FORM_TYPE = "application/x-www-form-urlencoded"
_LIST_FIELDS = frozenset({"tags", "tags[]"})
# Text codecs of Python's own that are no charset a client could mean.
_NOT_CHARSETS = frozenset({"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape"})


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
        f"Unsupported Content-Type {_shown(media_type)}: "
        "send application/json or application/x-www-form-urlencoded"
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
                codec = codecs.lookup(charset)
            except (LookupError, ValueError):  # ValueError: a NUL in the name
                codec = None
            # Python's codecs include transforms (base64, rot13, zlib, …), which are no text encodings.
            if codec is None or not codec._is_text_encoding or codec.name in _NOT_CHARSETS:
                raise UnsupportedMediaType(f"Unsupported charset {_shown(charset)}")
            return codec.name
    return "utf-8"


def _shown(header_part: str) -> str:
    return repr(header_part if len(header_part) <= 60 else header_part[:60] + "…")


def _decode_text(body: bytes, charset: str) -> str:
    try:
        return body.decode(charset)
    except UnicodeError:
        raise InvalidRequest(f"Body is not valid {charset} text") from None


def _parse_json_object(text: str) -> dict[str, Any]:
    if not text.strip():
        raise InvalidRequest("Body is empty: send a JSON object with at least a phone")
    return json_text.parse_object(text)


def _parse_form(text: str, charset: str) -> dict[str, Any]:
    try:
        # Percent-encoded bytes that are not `charset` text become surrogates, refused below by field.
        pairs = parse_qs(
            text,
            keep_blank_values=True,
            max_num_fields=_MAX_FORM_FIELDS,
            encoding=charset,
            errors="surrogateescape",
        )
    except UnicodeError:  # bytes surrogateescape cannot stand for (e.g. ASCII bytes in UTF-16)
        raise InvalidRequest(f"Form body is not valid {charset} text once percent-decoded") from None
    except ValueError:
        raise InvalidRequest(f"Form body has more than {_MAX_FORM_FIELDS} fields") from None
    undecodable = [
        FieldError(printable(name), f"percent-encoded bytes that are not valid {charset} text")
        for name, values in pairs.items()
        if has_surrogates(name) or any(has_surrogates(value) for value in values)
    ]
    if undecodable:
        raise InvalidRequest("Invalid form body", undecodable)
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
            errors.append(
                FieldError(printable(key[:80]), f"field names are 1 to {MAX_CUSTOM_KEY_CHARS} characters")
            )
        elif has_surrogates(key):
            errors.append(FieldError(printable(key), "field names should be valid unicode strings"))
        elif problem := _custom_value_problem(value):
            errors.append(FieldError(key, problem))
    if errors:
        raise InvalidRequest("Invalid lead", errors)


def _custom_value_problem(value: Any) -> str | None:
    too_long = f"custom field values are at most {MAX_CUSTOM_VALUE_CHARS} characters"
    try:
        text = extra_as_text(value)
    except ValueError:  # an int past CPython's digit limit (never from a JSON body: see json_text)
        return too_long
    if text is None:
        return None
    if len(text) > MAX_CUSTOM_VALUE_CHARS:
        return too_long
    return NOT_UNICODE if has_surrogates(text) else None
