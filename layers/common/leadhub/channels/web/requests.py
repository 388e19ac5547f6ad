"""Parsing what a visitor's browser sends to the widget's public endpoints. Every problem is a precise
4xx (InvalidRequest with the field, UnsupportedMediaType, PayloadTooLarge), never anything else:
tests/unit/test_widget_requests.py holds these parsers to that with Hypothesis."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from leadhub.leads.submission import MAX_CUSTOM_VALUE_CHARS, LeadSubmission, validate_submission
from leadhub.platform import json_input
from leadhub.platform.errors import FieldError, InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from leadhub.platform.json_input import has_surrogates, printable

MAX_BODY_BYTES = 16 * 1024
MAX_MESSAGE_CHARS = 2000
MAX_CURSOR_CHARS = 400
HONEYPOT = "website"  # a field people never see: only a form-filling robot writes in it
_CLIENT_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CONVERSATION_ID = re.compile(r"conv_[0-9a-z]{26}")
_UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
_JSON_TYPES = frozenset({"application/json", "text/plain", ""})


@dataclass(frozen=True, slots=True)
class VisitorText:
    client_message_id: str  # the widget's id for the message: a resent message is stored once
    text: str


@dataclass(frozen=True, slots=True)
class PageContext:
    page_url: str | None
    referrer: str | None

    def custom_fields(self) -> dict[str, str]:
        """The page URL, the referrer and the page URL's UTM parameters, as a lead's custom fields."""
        fields: dict[str, str] = {}
        if self.page_url:
            fields["pageUrl"] = self.page_url
            query = dict(parse_qsl(urlsplit(self.page_url).query))
            fields.update({k: query[k][:MAX_CUSTOM_VALUE_CHARS] for k in _UTM_FIELDS if query.get(k)})
        if self.referrer:
            fields["referrer"] = self.referrer
        return fields


def request_object(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The JSON object of a request body; an empty body is an empty object."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"Body exceeds {MAX_BODY_BYTES} bytes")
    media_type = (content_type or "").partition(";")[0].strip().lower()
    if media_type not in _JSON_TYPES and not media_type.endswith("+json"):
        raise UnsupportedMediaType("Send the body as application/json")
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise InvalidRequest("Body is not valid UTF-8") from None
    return json_input.parse_object(text) if text.strip() else {}


def _only(payload: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise InvalidRequest(
            "Unknown fields", [FieldError(printable(k)[:80], "unknown field") for k in unknown]
        )


def check_honeypot(payload: Mapping[str, Any]) -> None:
    if payload.get(HONEYPOT) not in (None, ""):
        raise InvalidRequest("Refused", [FieldError(HONEYPOT, "must be empty")])


def parse_session(payload: Mapping[str, Any]) -> None:
    """The session request carries nothing but the visitor token (a header)."""
    _only(payload, frozenset())


def parse_message(payload: Mapping[str, Any]) -> VisitorText:
    _only(payload, frozenset({"clientMessageId", "text", HONEYPOT}))
    check_honeypot(payload)
    errors: list[FieldError] = []
    client_id = payload.get("clientMessageId")
    if not isinstance(client_id, str) or not _CLIENT_MESSAGE_ID.fullmatch(client_id):
        errors.append(FieldError("clientMessageId", "1 to 64 letters, digits, - or _"))
    text = payload.get("text")
    if not isinstance(text, str):
        errors.append(FieldError("text", "Field required: a string"))
    elif has_surrogates(text):
        errors.append(FieldError("text", "not valid unicode text"))
    elif not text.strip():
        errors.append(FieldError("text", "must not be blank"))
    elif len(text) > MAX_MESSAGE_CHARS:
        errors.append(FieldError("text", f"at most {MAX_MESSAGE_CHARS} characters"))
    if errors:
        raise InvalidRequest("Invalid message", errors)
    assert isinstance(client_id, str) and isinstance(text, str)
    return VisitorText(client_id, text.strip())


def parse_contact(payload: Mapping[str, Any], default_region: str) -> tuple[LeadSubmission, PageContext]:
    """Name, email and/or phone by the lead webhook's own rules (one of email and phone required), and
    the page the visitor is on."""
    _only(payload, frozenset({"name", "email", "phone", "pageUrl", "referrer", HONEYPOT}))
    check_honeypot(payload)
    errors: list[FieldError] = []
    page: dict[str, str | None] = {}
    for name in ("pageUrl", "referrer"):
        try:
            page[name] = _page_url(payload.get(name))
        except ValueError as exc:
            errors.append(FieldError(name, str(exc)))
    try:
        contact = {k: payload[k] for k in ("name", "email", "phone") if k in payload}
        submission = validate_submission(contact, default_region, require_phone=False)
    except InvalidRequest as invalid:
        errors = invalid.details + errors
    if errors:
        raise InvalidRequest("Invalid contact details", errors)
    return submission, PageContext(page["pageUrl"], page["referrer"])


def _page_url(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or has_surrogates(value):
        raise ValueError("must be a URL string")
    if len(value) > MAX_CUSTOM_VALUE_CHARS:
        raise ValueError(f"at most {MAX_CUSTOM_VALUE_CHARS} characters")
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ValueError("not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("an http(s) URL")
    return value


def encode_cursor(conversation_id: str, position: str) -> str:
    return base64.urlsafe_b64encode(f"{conversation_id}\x1f{position}".encode()).decode().rstrip("=")


def parse_cursor(cursor: str | None) -> tuple[str, str] | None:
    """(conversation id, position) of a cursor we handed out; None for none; 400 for anything else."""
    if cursor is None or cursor == "":
        return None
    invalid = InvalidRequest(
        "Invalid cursor", [FieldError("X-Leadhub-After", "not a cursor this endpoint returned")]
    )
    if len(cursor) > MAX_CURSOR_CHARS or not re.fullmatch(r"[A-Za-z0-9_-]+", cursor):
        raise invalid
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError):
        raise invalid from None
    conversation_id, separator, position = text.partition("\x1f")
    if not (
        separator and _CONVERSATION_ID.fullmatch(conversation_id) and position.isprintable() and position
    ):
        raise invalid
    return conversation_id, position
