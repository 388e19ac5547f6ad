"""Payload templates: an endpoint's own JSON body, e.g. `{"contact": {"mobile": "{{phone}}"}, "source":
"leadhub {{event}}"}`, with its `{{placeholders}}` filled per event.

Placeholders are substituted in string values only (one in a key is refused at save time), always as
text (`tags` joined with ", ", a missing or null value as ""), into the parsed template, which is then
serialised: the output is always valid JSON. `{{ name }}` is `{{name}}`; any other `{{…}}` is refused at
save time with the allowed placeholders."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from leadhub.platform import json_input
from leadhub.platform.errors import FieldError, InvalidRequest

MAX_TEMPLATE_BYTES = 8 * 1024
MAX_TEMPLATE_DEPTH = 32
# Work bound before parsing: generous for a pretty-printed template whose compact form fits.
_MAX_SUBMITTED_CHARS = 8 * MAX_TEMPLATE_BYTES
_MAX_CUSTOM_KEY_CHARS = 64
CUSTOM_PREFIX = "custom."
_FIELD = "payloadTemplate"

# The placeholder and where its value comes from (the envelope, or the envelope's `data`).
_ENVELOPE_PLACEHOLDERS = {
    "eventId": "id",
    "event": "event",
    "timestamp": "timestamp",
    "accountId": "accountId",
}
_DATA_PLACEHOLDERS = (
    "leadId",
    "name",
    "phone",
    "email",
    "tags",
    "capturedAt",
    "lastActivityAt",
    "conversationId",
)
PLACEHOLDERS: tuple[str, ...] = (
    "event",
    "eventId",
    "timestamp",
    "accountId",
    "leadId",
    "name",
    "firstName",
    "phone",
    "email",
    "tags",
    "capturedAt",
    "lastActivityAt",
    "conversationId",
    CUSTOM_PREFIX + "KEY",
)
_PLACEHOLDER = re.compile(r"\{\{([^{}]*)\}\}")


def _invalid(message: str) -> InvalidRequest:
    return InvalidRequest("Invalid payload template", [FieldError(_FIELD, message)])


def _known(placeholder: str) -> bool:
    if placeholder.startswith(CUSTOM_PREFIX):
        return 0 < len(placeholder) - len(CUSTOM_PREFIX) <= _MAX_CUSTOM_KEY_CHARS
    return placeholder in PLACEHOLDERS


def _pairs_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _parse(text: str) -> Any:
    return json_input.loads(text, object_pairs_hook=_pairs_without_duplicates)


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _utf8(text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:
        # An unpaired surrogate (e.g. a lead name posted as "\ud800"): escape it as JSON allows.
        return json.dumps(json.loads(text), separators=(",", ":")).encode()


def _placeholder_problems(value: Any, path: str, depth: int = 1) -> list[str]:
    if depth > MAX_TEMPLATE_DEPTH:
        raise _invalid(f"nested deeper than {MAX_TEMPLATE_DEPTH} levels")
    if isinstance(value, str):
        names = [match.strip() for match in _PLACEHOLDER.findall(value)]
        return [f"unknown placeholder {{{{{name}}}}} at {path}" for name in names if not _known(name)]
    problems: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if _PLACEHOLDER.search(key):
                problems.append(f"placeholders are filled in string values, not in keys ({key!r} at {path})")
            problems.extend(_placeholder_problems(item, f"{path}.{key}", depth + 1))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problems.extend(_placeholder_problems(item, f"{path}[{index}]", depth + 1))
    return problems


def validate_template(template: str | dict[str, Any] | list[Any]) -> str:
    """The template's canonical text (compact JSON, key order kept) to store with the endpoint.

    Accepts the template as JSON text or already parsed. Raises InvalidRequest (field
    `payloadTemplate`) when it is not valid JSON, not an object or array, larger than 8 KiB compact,
    or uses a placeholder that does not exist.
    """
    if isinstance(template, str):
        if len(template) > _MAX_SUBMITTED_CHARS:
            raise _invalid(f"at most {MAX_TEMPLATE_BYTES} bytes of JSON")
        try:
            parsed = _parse(template)
        except ValueError as exc:
            raise _invalid(f"not valid JSON: {exc}") from None
    else:
        try:
            # Round-trip an already parsed value so that it obeys the same rules as text.
            parsed = _parse(json.dumps(template, allow_nan=False))
        except RecursionError:
            raise _invalid("not valid JSON: nested too deeply") from None
        except (TypeError, ValueError) as exc:
            raise _invalid(f"not valid JSON: {exc}") from None
    if not isinstance(parsed, dict | list):
        raise _invalid(f"must be a JSON object or array, not {type(parsed).__name__}")
    problems = _placeholder_problems(parsed, "$")  # first: it also bounds the depth
    canonical = _canonical(parsed)
    try:
        size = len(canonical.encode())
    except UnicodeEncodeError:
        raise _invalid("not valid JSON: contains an unpaired surrogate (\\uD800-\\uDFFF)") from None
    if size > MAX_TEMPLATE_BYTES:
        raise _invalid(f"at most {MAX_TEMPLATE_BYTES} bytes of JSON")
    if problems:
        allowed = ", ".join("{{" + name + "}}" for name in PLACEHOLDERS)
        raise _invalid(f"{'; '.join(problems)}. Allowed placeholders: {allowed}")
    return canonical


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return ", ".join(_as_text(item) for item in value)
    if isinstance(value, bool | int | float | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def placeholder_values(envelope: Mapping[str, Any]) -> dict[str, str]:
    """Every built-in placeholder's text for one event envelope (custom fields are looked up apart)."""
    data = envelope.get("data") or {}
    values = {name: _as_text(envelope.get(key)) for name, key in _ENVELOPE_PLACEHOLDERS.items()}
    values.update({name: _as_text(data.get(name)) for name in _DATA_PLACEHOLDERS})
    if not values["accountId"]:
        values["accountId"] = _as_text(data.get("accountId"))
    name_words = values["name"].split()
    values["firstName"] = name_words[0] if name_words else ""
    return values


@lru_cache(maxsize=256)
def _parsed_template(template_text: str) -> Any:
    # Cached per text: a batch delivers many events to the same few endpoints. Never mutated.
    return _parse(template_text)


def render(template_text: str, envelope: Mapping[str, Any]) -> bytes:
    """The request body for one event: the stored template with its placeholders filled, as compact
    UTF-8 JSON. `envelope` is the standard delivery envelope (`id`, `event`, `timestamp`, `accountId`,
    `data`); lead fields are read from `data`, custom fields from `data.customFields`."""
    values = placeholder_values(envelope)
    custom = (envelope.get("data") or {}).get("customFields") or {}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name.startswith(CUSTOM_PREFIX):
            return _as_text(custom.get(name[len(CUSTOM_PREFIX) :]))
        # A template saved before a placeholder was withdrawn renders it as missing, never fails.
        return values.get(name, "")

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return _PLACEHOLDER.sub(substitute, value) if "{{" in value else value
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        if isinstance(value, list):
            return [fill(item) for item in value]
        return value

    return _utf8(_canonical(fill(_parsed_template(template_text))))
