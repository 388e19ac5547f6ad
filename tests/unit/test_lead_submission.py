"""The lead submission's validator against the pydantic model it replaced (kept here as the reference):
for every payload of a corpus of awkward values, the same submission or the same 400 details in the same
order. Callers see these messages, so they are part of the HTTP contract."""

from __future__ import annotations

import json
import random
import re
from typing import Annotated, Any

import pytest
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from leadhub.domain.lead_intake import parse_lead_submission
from leadhub.errors import FieldError, InvalidRequest
from leadhub.models.lead_submission import (
    MAX_CUSTOM_FIELDS_PER_REQUEST,
    MAX_CUSTOM_KEY_CHARS,
    MAX_CUSTOM_VALUE_CHARS,
    extra_as_text,
)
from leadhub.models.phone import to_e164

# -- the reference: the pydantic model and its error mapping, as they were --------------------------------


def _phone_as_text(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"+{value}" if value > 0 else str(value)
    return value


def _tags_as_list(value: Any) -> Any:
    if isinstance(value, str):
        return value.split(",")
    return value


def _blank_as_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class PydanticLeadSubmission(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True, frozen=True)

    phone: Annotated[str, BeforeValidator(_phone_as_text)] = Field(min_length=1)
    name: Annotated[str | None, BeforeValidator(_blank_as_none)] = Field(None, max_length=200)
    email: Annotated[str | None, BeforeValidator(_blank_as_none)] = Field(None, max_length=254)
    tags: Annotated[list[str], BeforeValidator(_tags_as_list)] = Field(default_factory=list)

    @field_validator("phone")
    @classmethod
    def _normalise_phone(cls, value: str, info: ValidationInfo) -> str:
        return to_e164(value, (info.context or {}).get("default_region", "US"))

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from email_validator import EmailNotValidError, validate_email

        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("tags")
    @classmethod
    def _normalise_tags(cls, value: list[str]) -> list[str]:
        tags = list(dict.fromkeys(t.strip() for t in value if t.strip()))
        if len(tags) > 50:
            raise ValueError("at most 50 tags per request")
        if [t for t in tags if len(t) > 64]:
            raise ValueError("tags are at most 64 characters")
        return tags


# The custom fields' rules on text (added with issue 13): pydantic's own refusal of a str that holds a
# surrogate (unpaired: JSON's "\ud800"), which the model gave its typed fields.
NOT_UNICODE = "Input should be a valid string, unable to parse raw data as a unicode string"


def _has_surrogates(text: str) -> bool:
    return re.search("[\ud800-\udfff]", text) is not None


def _escaped(key: str) -> str:
    return key.encode("utf-8", "backslashreplace").decode()


def _reference_field_error(error: Any) -> FieldError:
    location = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"])
    return FieldError(location.lstrip(".") or "body", error["msg"].removeprefix("Value error, "))


def reference(payload: dict[str, Any], region: str) -> dict[str, Any]:
    """What the pydantic model made of `payload`: the submission's values, or the 400's details."""
    # The model refused a field name holding a surrogate as a problem of the whole body; such a name is
    # reported (escaped) like any other invalid custom field name instead.
    named = {k: v for k, v in payload.items() if not _has_surrogates(k)}
    try:
        model = PydanticLeadSubmission.model_validate(named, context={"default_region": region})
    except ValidationError as exc:
        return {"error": "Invalid lead", "details": [_reference_field_error(e) for e in exc.errors()]}
    extras = {k: v for k, v in payload.items() if k not in PydanticLeadSubmission.model_fields}
    if len(extras) > MAX_CUSTOM_FIELDS_PER_REQUEST:
        return {
            "error": "Invalid lead",
            "details": [FieldError("body", "at most 50 custom fields per request")],
        }
    problems = []
    for key, value in extras.items():
        if not key.strip() or len(key) > MAX_CUSTOM_KEY_CHARS:
            problems.append(FieldError(_escaped(key[:80]), "field names are 1 to 64 characters"))
            continue
        if _has_surrogates(key):
            problems.append(FieldError(_escaped(key), "field names should be valid unicode strings"))
            continue
        try:
            text = extra_as_text(value)
        except ValueError:  # past CPython's digit limit
            text = "9" * 4301
        if text is not None and len(text) > MAX_CUSTOM_VALUE_CHARS:
            problems.append(FieldError(key, "custom field values are at most 1000 characters"))
        elif text is not None and _has_surrogates(text):
            problems.append(FieldError(key, NOT_UNICODE))
    if problems:
        return {"error": "Invalid lead", "details": problems}
    custom = {k: extra_as_text(v) for k, v in extras.items()}
    return {
        "phone": model.phone,
        "name": model.name,
        "email": model.email,
        "tags": model.tags,
        "extra": extras,
        "custom_fields": {k: v.strip() for k, v in custom.items() if v is not None and v.strip()},
        "ignored_fields": [k for k, v in extras.items() if isinstance(v, dict | list)],
    }


def ours(payload: dict[str, Any], region: str) -> dict[str, Any]:
    try:
        submission = parse_lead_submission(payload, region)
    except InvalidRequest as exc:
        return {"error": exc.message, "details": exc.details}
    return {
        "phone": submission.phone,
        "name": submission.name,
        "email": submission.email,
        "tags": submission.tags,
        "extra": dict(submission.extra),
        "custom_fields": submission.custom_fields,
        "ignored_fields": submission.ignored_fields,
    }


# -- the corpus ---------------------------------------------------------------------------------------------

MISSING = object()
SPACES = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2007\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_SPACE_FOR_PYDANTIC = "\x1c\x1d\x1e\x1f\u180e\u200b\ufeff"

PHONES: list[Any] = [
    MISSING,
    None,
    "",
    " ",
    "\x1c",
    "+14155552671",
    " +1 415 555 2671 ",
    "(415) 555-2671",
    "020 7946 0958",
    "+44 20 7946 0958",
    f"{SPACES}+14155552671{SPACES}",
    "\x1c+14155552671",
    "\u200b+14155552671",
    14155552671,
    442079460958,
    -5,
    0,
    10**30,
    True,
    False,
    1.5,
    14155552671.0,
    [],
    ["+14155552671"],
    {},
    {"n": 1},
    "12",
    "call me",
    "+1 (415) 555-2671 ext. 2",
    "+1415555\ud8002671",
    "\udfff",
]
TEXTS: list[Any] = [
    MISSING,
    None,
    "",
    " ",
    SPACES,
    "\x1c",
    NOT_SPACE_FOR_PYDANTIC,
    "Ada",
    "  Ada  ",
    f"{SPACES}Ada Lovelace{SPACES}",
    f"{NOT_SPACE_FOR_PYDANTIC}Ada{NOT_SPACE_FOR_PYDANTIC}",
    "x" * 200,
    "x" * 201,
    " " + "x" * 200 + " ",
    "é" * 201,
    5,
    0,
    True,
    1.5,
    ["Ada"],
    {"a": 1},
    "\ud800",
    " Ada \udc80 ",
    "\ud83d\ude00",
    "\U0001f600",
    "x" * 201 + "\ud800",
]
EMAILS: list[Any] = [
    *TEXTS,
    "ada@example.com",
    "Ada@Example.COM",
    " ada@example.com ",
    "ada@",
    "nope",
    "a@b",
    "x@@acme.test",
    "ada@exämple.com",
    "x" * 250 + "@a.com",
    "x" * 64 + "@" + "y" * 185 + ".com",
]
TAGS: list[Any] = [
    MISSING,
    None,
    "",
    " ",
    "a",
    "a,b",
    " a, b ,a,, ",
    f"a,{SPACES},b",
    "\x1ca,b\x1c",
    "x" * 64,
    "x" * 65,
    ",".join(f"t{i}" for i in range(50)),
    ",".join(f"t{i}" for i in range(51)),
    [],
    ["a", "b"],
    [" a ", "a", "", " "],
    ["a", 1, None, "b", True],
    [1],
    [["a"]],
    ["x" * 65],
    ["x" * 64, "y" * 65],
    [f"t{i}" for i in range(51)],
    [f"t{i % 50}" for i in range(60)],
    [f"{SPACES}a", "\x1cb", "\u200bc"],
    ["a", "\ud800", 1, "b\udfff"],
    "a,\udc80",
    ["x" * 65 + "\ud800"],
    {"a": 1},
    5,
    1.5,
    True,
]
EXTRAS: list[dict[str, Any]] = [
    {},
    {"utm_source": " newsletter ", "budget": 1200, "ratio": 0.5, "consent": True, "empty": "", "none": None},
    {"address": {"city": "London"}, "interests": ["a"]},
    {"big": 12345678901234567890},
    {"": "v"},
    {" ": "v"},
    {"k" * 64: "v"},
    {"k" * 65: "v"},
    {"k" * 90: "v", "note": "x" * 1001},
    {"note": "x" * 1000},
    {"note": "x" * 1001, "n": 10**1000},
    {f"f{i}": "v" for i in range(50)},
    {f"f{i}": "v" for i in range(51)},
    {"Phone": "+1", "phone ": "x", "custom_fields": "v", "model_extra": "v", "__dict__": "v"},
    {"\ud800": "v", "k": "\udc80", "ok": "v\U0001f600", "nested": {"\ud800": "\ud800"}},
    {"k" * 80 + "\ud800": "v", "note": "x" * 1001 + "\ud800"},
    {"huge": 10**5000, "-huge": -(10**5000)},
]


def payload_of(phone: Any, name: Any, email: Any, tags: Any, extra: dict[str, Any]) -> dict[str, Any]:
    values = {"phone": phone, "name": name, "email": email, "tags": tags}
    return {**{k: v for k, v in values.items() if v is not MISSING}, **extra}


VALID = {"phone": "+14155552671", "name": "Ada", "email": "ada@example.com", "tags": "a", "extra": {}}
ONE_AT_A_TIME = (
    [{**VALID, "phone": v} for v in PHONES]
    + [{**VALID, "name": v} for v in TEXTS]
    + [{**VALID, "email": v} for v in EMAILS]
    + [{**VALID, "tags": v} for v in TAGS]
    + [{**VALID, "extra": v} for v in EXTRAS]
)
_rng = random.Random(20261123)
MIXED = [
    {
        "phone": _rng.choice(PHONES),
        "name": _rng.choice(TEXTS),
        "email": _rng.choice(EMAILS),
        "tags": _rng.choice(TAGS),
        "extra": _rng.choice(EXTRAS),
    }
    for _ in range(1500)
]


def _id(case: dict[str, Any]) -> str:
    return json.dumps({k: _short_repr(v) for k, v in case.items()})


def _short_repr(value: Any) -> str:
    try:
        return repr(value)[:40]
    except ValueError:  # holds an int past CPython's digit limit
        return "<huge int>"


@pytest.mark.parametrize("case", ONE_AT_A_TIME, ids=_id)
@pytest.mark.parametrize("region", ["US", "GB"])
def test_each_awkward_value_is_judged_as_the_pydantic_model_judged_it(
    case: dict[str, Any], region: str
) -> None:
    payload = payload_of(**case)
    assert ours(payload, region) == reference(payload, region)


def test_mixed_payloads_are_judged_as_the_pydantic_model_judged_them() -> None:
    for case in MIXED:
        payload = payload_of(**case)
        assert ours(payload, "US") == reference(payload, "US"), case


def test_the_corpus_covers_refusals_and_acceptances() -> None:
    outcomes = [reference(payload_of(**case), "US") for case in ONE_AT_A_TIME + MIXED]
    details = {d.message.split(" (")[0] for o in outcomes for d in o.get("details", [])}
    assert sum("phone" in o for o in outcomes) > 50  # accepted submissions
    assert {
        "Field required",
        "Input should be a valid string",
        "Input should be a valid list",
        "String should have at least 1 character",
        "String should have at most 200 characters",
        "String should have at most 254 characters",
        "not a valid phone number",
        "not a phone number",
        "tags are at most 64 characters",
        "at most 50 tags per request",
        "at most 50 custom fields per request",
        "field names are 1 to 64 characters",
        "custom field values are at most 1000 characters",
        "Input should be a valid string, unable to parse raw data as a unicode string",
        "field names should be valid unicode strings",
    } <= details
    assert any("tags[" in d.field for o in outcomes for d in o.get("details", []))
