"""The lead a webhook caller sends, validated. Apart from the stored `Lead` so that functions which only
read or relay leads (fan-out, management API reads) do not import it.

The one spec of a lead submission: a frozen dataclass and its validator, not a pydantic model, because the
lead webhook loads pydantic for nothing else. Measured with bench/cold_start.py (CPU time of a cold start,
against the floor of the same runs): the pydantic model (import, build, first validation) costs the lead
webhook +48 ms, the widget +59 ms, the dashboard +78 ms. The messages are pydantic's wording, which callers
see in 400 details: fields reported in the order phone, name, email, tags (each list item on its own);
strings stripped of Unicode white space. tests/unit/test_lead_submission.py holds them to explicit
expectations."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from leadhub.leads.identity import to_e164
from leadhub.platform.errors import FieldError, InvalidRequest
from leadhub.platform.json_input import has_surrogates

# Limits a submission must respect (documented in README "Lead webhook").
MAX_NAME_CHARS = 200
MAX_EMAIL_CHARS = 254
MAX_TAGS_PER_REQUEST = 50
MAX_TAG_CHARS = 64
MAX_CUSTOM_FIELDS_PER_REQUEST = 50
MAX_CUSTOM_KEY_CHARS = 64
MAX_CUSTOM_VALUE_CHARS = 1000

# What string fields are stripped of: Unicode's White_Space characters (as pydantic strips them; unlike
# str.strip(), not the ASCII separators \x1c-\x1f).
_WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
# Text with an unpaired surrogate (see json_input.has_surrogates): pydantic's message, as the model gave it.
NOT_UNICODE = "Input should be a valid string, unable to parse raw data as a unicode string"
_KNOWN_FIELDS = frozenset({"phone", "name", "email", "tags"})
_REQUIRED = object()


@dataclass(frozen=True, slots=True)
class LeadSubmission:
    """A lead as posted to the webhook; build it with `validate_submission`."""

    phone: str | None  # E.164; None only where the phone is optional (the widget, with an email)
    name: str | None = None
    email: str | None = None
    tags: list[str] = field(default_factory=list)
    extra: Mapping[str, Any] = field(default_factory=dict)  # every other field, as sent

    @property
    def custom_fields(self) -> dict[str, str]:
        """Extra fields worth keeping: non-empty strings, numbers and booleans (as text)."""
        fields = {k: extra_as_text(v) for k, v in self.extra.items()}
        return {k: v.strip() for k, v in fields.items() if v is not None and v.strip()}

    @property
    def ignored_fields(self) -> list[str]:
        """Extra fields we did not store: objects and arrays (null and empty values are simply absent)."""
        return [k for k, v in self.extra.items() if isinstance(v, dict | list)]


def validate_submission(
    payload: Mapping[str, Any], default_region: str, *, require_phone: bool = True
) -> LeadSubmission:
    """The submission in a decoded body (JSON values or form fields); national phone numbers are read in
    `default_region`. InvalidRequest names every invalid field at once. Without `require_phone` a blank
    phone is absent, and an email address or a phone is required."""
    errors: list[FieldError] = []

    def checked(name: str, validate: Callable[[Any], Any], default: Any = None) -> Any:
        if name not in payload:
            if default is _REQUIRED:
                errors.append(FieldError(name, "Field required"))
            return default
        try:
            return validate(payload[name])
        except _ItemErrors as problems:
            errors.extend(problems.errors)
        except ValueError as exc:
            errors.append(FieldError(name, str(exc)))
        return None

    def e164_phone(value: Any) -> str:
        return to_e164(_text(_phone_as_text(value), min_length=1), default_region)

    def optional_phone(value: Any) -> str | None:
        """Blank (or null) is absent."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return e164_phone(value)

    phone = checked("phone", e164_phone, _REQUIRED) if require_phone else checked("phone", optional_phone)
    name = checked("name", lambda v: _optional_text(v, MAX_NAME_CHARS))
    email = checked("email", lambda v: _email(_optional_text(v, MAX_EMAIL_CHARS)))
    tags = checked("tags", _tags, [])
    if not (require_phone or errors or phone or email):
        errors.append(FieldError("email", "Leave an email address or a phone number"))
    if errors:
        raise InvalidRequest("Invalid lead", errors)
    extra = {k: v for k, v in payload.items() if k not in _KNOWN_FIELDS}
    return LeadSubmission(phone=phone, name=name, email=email, tags=tags, extra=extra)


def extra_as_text(value: Any) -> str | None:
    """Custom field value: strings as-is, numbers and booleans as their JSON text, anything else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return None


class _ItemErrors(ValueError):
    """Problems with items of a list field, each reported under its own index."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("invalid items")
        self.errors = errors


def _text(value: Any, *, min_length: int = 0, max_length: int | None = None) -> str:
    if not isinstance(value, str):
        raise ValueError("Input should be a valid string")
    if has_surrogates(value):
        raise ValueError(NOT_UNICODE)
    text = value.strip(_WHITE_SPACE)
    if len(text) < min_length:
        raise ValueError(f"String should have at least {min_length} character{_plural(min_length)}")
    if max_length is not None and len(text) > max_length:
        raise ValueError(f"String should have at most {max_length} character{_plural(max_length)}")
    return text


def _plural(count: int) -> str:
    return "" if count == 1 else "s"


def _phone_as_text(value: Any) -> Any:
    # CRMs often send numbers as JSON numbers; bool is an int in Python but never a phone.
    if isinstance(value, int) and not isinstance(value, bool):
        return f"+{value}" if value > 0 else str(value)
    return value


def _optional_text(value: Any, max_length: int) -> str | None:
    """Blank (or null) is absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _text(value, max_length=max_length)


def _email(value: str | None) -> str | None:
    if value is None:
        return None
    # Imported here: most leads arrive without an email, and cold start counts.
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None


def _tags(value: Any) -> list[str]:
    """A list of strings, or one comma-separated string; blanks and repeats dropped."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise ValueError("Input should be a valid list")
    items: list[str] = []
    problems: list[FieldError] = []
    for index, item in enumerate(value):
        try:
            items.append(_text(item))
        except ValueError as exc:
            problems.append(FieldError(f"tags[{index}]", str(exc)))
    if problems:
        raise _ItemErrors(problems)
    tags = list(dict.fromkeys(t.strip() for t in items if t.strip()))
    if len(tags) > MAX_TAGS_PER_REQUEST:
        raise ValueError(f"at most {MAX_TAGS_PER_REQUEST} tags per request")
    if any(len(t) > MAX_TAG_CHARS for t in tags):
        raise ValueError(f"tags are at most {MAX_TAG_CHARS} characters")
    return tags
