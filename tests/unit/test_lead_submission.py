"""The lead submission's validator (leadhub.leads.submission, with the custom-field checks of
leads.intake) against explicit expectations: for each awkward value of each field, the value it becomes or
the 400 details callers see (part of the HTTP contract, README "Lead webhook"); for any mix of them, every
known field's problems in the order phone, name, email, tags, and the custom fields' only once the known
fields are valid."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from leadhub.leads.intake import parse_lead_submission
from leadhub.platform.errors import FieldError, InvalidRequest

# -- expectations -------------------------------------------------------------------------------------------

# An outcome: ("accepted", what the field becomes) or ("refused", the 400's details for it).
Outcome = tuple[str, Any]
NOT_STRING = "Input should be a valid string"
NOT_UNICODE = "Input should be a valid string, unable to parse raw data as a unicode string"
EMPTY = "String should have at least 1 character"
NOT_LIST = "Input should be a valid list"


def accepted(value: Any) -> Outcome:
    return ("accepted", value)


def refused(*details: tuple[str, str]) -> Outcome:
    return ("refused", [FieldError(field, message) for field, message in details])


def invalid_phone(region: str) -> str:
    return f"not a valid phone number (use E.164, e.g. +14155552671; region {region})"


def not_a_phone(region: str) -> str:
    return f"not a phone number (use E.164, e.g. +14155552671; region {region})"


MISSING = object()
# Unicode White_Space (stripped) and characters that are not (kept).
SPACES = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2007\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_WHITE_SPACE = "\x1c\x1d\x1e\x1f\u180e\u200b\ufeff"

# Values every optional text field (name, email) takes as absent, refuses as no string, or as no Unicode.
BLANKS = [MISSING, None, "", " ", SPACES, "\x1c"]
NOT_STRINGS = [5, 0, True, 1.5, ["Ada"], {"a": 1}]
UNPAIRED_SURROGATES = ["\ud800", " Ada \udc80 ", "\ud83d\ude00"]

PHONES: list[tuple[Any, Outcome, Outcome]] = [  # value, in region US, in region GB
    (MISSING, refused(("phone", "Field required")), refused(("phone", "Field required"))),
    (None, refused(("phone", NOT_STRING)), refused(("phone", NOT_STRING))),
    ("", refused(("phone", EMPTY)), refused(("phone", EMPTY))),
    (" ", refused(("phone", EMPTY)), refused(("phone", EMPTY))),
    ("\x1c", refused(("phone", not_a_phone("US"))), refused(("phone", not_a_phone("GB")))),
    ("+14155552671", accepted("+14155552671"), accepted("+14155552671")),
    (" +1 415 555 2671 ", accepted("+14155552671"), accepted("+14155552671")),
    ("(415) 555-2671", accepted("+14155552671"), refused(("phone", invalid_phone("GB")))),
    ("020 7946 0958", refused(("phone", invalid_phone("US"))), accepted("+442079460958")),
    ("+44 20 7946 0958", accepted("+442079460958"), accepted("+442079460958")),
    (f"{SPACES}+14155552671{SPACES}", accepted("+14155552671"), accepted("+14155552671")),
    ("\x1c+14155552671", accepted("+14155552671"), accepted("+14155552671")),
    ("\u200b+14155552671", accepted("+14155552671"), accepted("+14155552671")),
    (14155552671, accepted("+14155552671"), accepted("+14155552671")),
    (442079460958, accepted("+442079460958"), accepted("+442079460958")),
    (-5, refused(("phone", not_a_phone("US"))), refused(("phone", not_a_phone("GB")))),
    (0, refused(("phone", not_a_phone("US"))), refused(("phone", not_a_phone("GB")))),
    (10**30, refused(("phone", not_a_phone("US"))), refused(("phone", not_a_phone("GB")))),
    (True, refused(("phone", NOT_STRING)), refused(("phone", NOT_STRING))),
    (False, refused(("phone", NOT_STRING)), refused(("phone", NOT_STRING))),
    (1.5, refused(("phone", NOT_STRING)), refused(("phone", NOT_STRING))),
    (14155552671.0, refused(("phone", NOT_STRING)), refused(("phone", NOT_STRING))),
    ([], refused(("phone", NOT_STRING)), refused(("phone", NOT_STRING))),
    (["+14155552671"], refused(("phone", NOT_STRING)), refused(("phone", NOT_STRING))),
    ({}, refused(("phone", NOT_STRING)), refused(("phone", NOT_STRING))),
    ({"n": 1}, refused(("phone", NOT_STRING)), refused(("phone", NOT_STRING))),
    ("12", refused(("phone", invalid_phone("US"))), refused(("phone", invalid_phone("GB")))),
    ("call me", refused(("phone", not_a_phone("US"))), refused(("phone", not_a_phone("GB")))),
    ("+1 (415) 555-2671 ext. 2", accepted("+14155552671"), accepted("+14155552671")),
    ("+1415555\ud8002671", refused(("phone", NOT_UNICODE)), refused(("phone", NOT_UNICODE))),
    ("\udfff", refused(("phone", NOT_UNICODE)), refused(("phone", NOT_UNICODE))),
]
NAMES: list[tuple[Any, Outcome]] = [
    *[(value, accepted(None)) for value in BLANKS],
    *[(value, refused(("name", NOT_STRING))) for value in NOT_STRINGS],
    *[(value, refused(("name", NOT_UNICODE))) for value in UNPAIRED_SURROGATES],
    (NOT_WHITE_SPACE, accepted("\x1c\x1d\x1e\x1f\u180e\u200b\ufeff")),
    ("Ada", accepted("Ada")),
    ("  Ada  ", accepted("Ada")),
    (f"{SPACES}Ada Lovelace{SPACES}", accepted("Ada Lovelace")),
    (
        f"{NOT_WHITE_SPACE}Ada{NOT_WHITE_SPACE}",
        accepted("\x1c\x1d\x1e\x1f\u180e\u200b\ufeffAda\x1c\x1d\x1e\x1f\u180e\u200b\ufeff"),
    ),
    ("x" * 200, accepted("x" * 200)),
    ("x" * 201, refused(("name", "String should have at most 200 characters"))),
    (" " + "x" * 200 + " ", accepted("x" * 200)),
    ("é" * 201, refused(("name", "String should have at most 200 characters"))),
    ("\U0001f600", accepted("😀")),
    ("x" * 201 + "\ud800", refused(("name", NOT_UNICODE))),
]
EMAILS: list[tuple[Any, Outcome]] = [
    *[(value, accepted(None)) for value in BLANKS],
    *[(value, refused(("email", NOT_STRING))) for value in NOT_STRINGS],
    *[(value, refused(("email", NOT_UNICODE))) for value in UNPAIRED_SURROGATES],
    (NOT_WHITE_SPACE, refused(("email", "An email address must have an @-sign."))),
    ("Ada", refused(("email", "An email address must have an @-sign."))),
    ("  Ada  ", refused(("email", "An email address must have an @-sign."))),
    (f"{SPACES}Ada Lovelace{SPACES}", refused(("email", "An email address must have an @-sign."))),
    (f"{NOT_WHITE_SPACE}Ada{NOT_WHITE_SPACE}", refused(("email", "An email address must have an @-sign."))),
    ("x" * 200, refused(("email", "An email address must have an @-sign."))),
    ("x" * 201, refused(("email", "An email address must have an @-sign."))),
    (" " + "x" * 200 + " ", refused(("email", "An email address must have an @-sign."))),
    ("é" * 201, refused(("email", "An email address must have an @-sign."))),
    ("\U0001f600", refused(("email", "An email address must have an @-sign."))),
    ("x" * 201 + "\ud800", refused(("email", NOT_UNICODE))),
    ("ada@example.com", accepted("ada@example.com")),
    ("Ada@Example.COM", accepted("Ada@example.com")),
    (" ada@example.com ", accepted("ada@example.com")),
    ("ada@", refused(("email", "There must be something after the @-sign."))),
    ("nope", refused(("email", "An email address must have an @-sign."))),
    ("a@b", refused(("email", "The part after the @-sign is not valid. It should have a period."))),
    ("x@@acme.test", refused(("email", "The part after the @-sign contains invalid characters: '@'."))),
    ("ada@exämple.com", accepted("ada@exämple.com")),
    ("x" * 250 + "@a.com", refused(("email", "String should have at most 254 characters"))),
    (
        "x" * 64 + "@" + "y" * 185 + ".com",
        refused(
            (
                "email",
                "After the @-sign, periods cannot be separated by so many characters "
                "(122 characters too many).",
            )
        ),
    ),
]
TAGS: list[tuple[Any, Outcome]] = [
    (MISSING, accepted([])),
    (None, refused(("tags", NOT_LIST))),
    ("", accepted([])),
    (" ", accepted([])),
    ("a", accepted(["a"])),
    ("a,b", accepted(["a", "b"])),
    (" a, b ,a,, ", accepted(["a", "b"])),
    (f"a,{SPACES},b", accepted(["a", "b"])),
    ("\x1ca,b\x1c", accepted(["a", "b"])),
    ("x" * 64, accepted(["x" * 64])),
    ("x" * 65, refused(("tags", "tags are at most 64 characters"))),
    (
        ",".join(f"t{i}" for i in range(50)),
        accepted([f"t{i}" for i in range(50)]),
    ),
    (",".join(f"t{i}" for i in range(51)), refused(("tags", "at most 50 tags per request"))),
    ([], accepted([])),
    (["a", "b"], accepted(["a", "b"])),
    ([" a ", "a", "", " "], accepted(["a"])),
    (
        ["a", 1, None, "b", True],
        refused(("tags[1]", NOT_STRING), ("tags[2]", NOT_STRING), ("tags[4]", NOT_STRING)),
    ),
    ([1], refused(("tags[0]", NOT_STRING))),
    ([["a"]], refused(("tags[0]", NOT_STRING))),
    (["x" * 65], refused(("tags", "tags are at most 64 characters"))),
    (["x" * 64, "y" * 65], refused(("tags", "tags are at most 64 characters"))),
    ([f"t{i}" for i in range(51)], refused(("tags", "at most 50 tags per request"))),
    (
        [f"t{i % 50}" for i in range(60)],
        accepted([f"t{i}" for i in range(50)]),
    ),
    ([f"{SPACES}a", "\x1cb", "\u200bc"], accepted(["a", "b", "\u200bc"])),
    (
        ["a", "\ud800", 1, "b\udfff"],
        refused(("tags[1]", NOT_UNICODE), ("tags[2]", NOT_STRING), ("tags[3]", NOT_UNICODE)),
    ),
    ("a,\udc80", refused(("tags[1]", NOT_UNICODE))),
    (["x" * 65 + "\ud800"], refused(("tags[0]", NOT_UNICODE))),
    ({"a": 1}, refused(("tags", NOT_LIST))),
    (5, refused(("tags", NOT_LIST))),
    (1.5, refused(("tags", NOT_LIST))),
    (True, refused(("tags", NOT_LIST))),
]
EXTRAS: list[tuple[dict[str, Any], Outcome]] = [  # extras, (custom fields, ignored fields) or refusal
    ({}, accepted(({}, []))),
    (
        {
            "utm_source": " newsletter ",
            "budget": 1200,
            "ratio": 0.5,
            "consent": True,
            "empty": "",
            "none": None,
        },
        accepted(({"utm_source": "newsletter", "budget": "1200", "ratio": "0.5", "consent": "true"}, [])),
    ),
    ({"address": {"city": "London"}, "interests": ["a"]}, accepted(({}, ["address", "interests"]))),
    ({"big": 12345678901234567890}, accepted(({"big": "12345678901234567890"}, []))),
    ({"": "v"}, refused(("", "field names are 1 to 64 characters"))),
    ({" ": "v"}, refused((" ", "field names are 1 to 64 characters"))),
    ({"k" * 64: "v"}, accepted(({"k" * 64: "v"}, []))),
    ({"k" * 65: "v"}, refused(("k" * 65, "field names are 1 to 64 characters"))),
    (
        {"k" * 90: "v", "note": "x" * 1001},
        refused(
            ("k" * 80, "field names are 1 to 64 characters"),
            ("note", "custom field values are at most 1000 characters"),
        ),
    ),
    ({"note": "x" * 1000}, accepted(({"note": "x" * 1000}, []))),
    (
        {"note": "x" * 1001, "n": 10**1000},
        refused(
            ("note", "custom field values are at most 1000 characters"),
            ("n", "custom field values are at most 1000 characters"),
        ),
    ),
    (
        {f"f{i}": "v" for i in range(50)},
        accepted(({f"f{i}": "v" for i in range(50)}, [])),
    ),
    ({f"f{i}": "v" for i in range(51)}, refused(("body", "at most 50 custom fields per request"))),
    (
        {"Phone": "+1", "phone ": "x", "custom_fields": "v", "model_extra": "v", "__dict__": "v"},
        accepted(
            ({"Phone": "+1", "phone ": "x", "custom_fields": "v", "model_extra": "v", "__dict__": "v"}, [])
        ),
    ),
    (
        {"\ud800": "v", "k": "\udc80", "ok": "v\U0001f600", "nested": {"\ud800": "\ud800"}},
        refused(("\\ud800", "field names should be valid unicode strings"), ("k", NOT_UNICODE)),
    ),
    (
        {"k" * 80 + "\ud800": "v", "note": "x" * 1001 + "\ud800"},
        refused(
            ("k" * 80, "field names are 1 to 64 characters"),
            ("note", "custom field values are at most 1000 characters"),
        ),
    ),
    (
        {"huge": 10**5000, "-huge": -(10**5000)},
        refused(
            ("huge", "custom field values are at most 1000 characters"),
            ("-huge", "custom field values are at most 1000 characters"),
        ),
    ),
]


def expected(phone: Outcome, name: Outcome, email: Outcome, tags: Outcome, extra: Outcome) -> dict[str, Any]:
    """What the validator makes of a payload whose fields alone would have these outcomes."""
    known = [phone, name, email, tags]
    problems = [detail for kind, details in known if kind == "refused" for detail in details]
    if problems:
        return {"error": "Invalid lead", "details": problems}
    if extra[0] == "refused":
        return {"error": "Invalid lead", "details": extra[1]}
    custom_fields, ignored_fields = extra[1]
    return {
        "phone": phone[1],
        "name": name[1],
        "email": email[1],
        "tags": tags[1],
        "custom_fields": custom_fields,
        "ignored_fields": ignored_fields,
    }


def ours(phone: Any, name: Any, email: Any, tags: Any, extra: dict[str, Any], region: str) -> dict[str, Any]:
    values = {"phone": phone, "name": name, "email": email, "tags": tags}
    payload = {**{k: v for k, v in values.items() if v is not MISSING}, **extra}
    try:
        submission = parse_lead_submission(payload, region)
    except InvalidRequest as exc:
        return {"error": exc.message, "details": exc.details}
    assert submission.extra == extra  # every other field, as sent
    return {
        "phone": submission.phone,
        "name": submission.name,
        "email": submission.email,
        "tags": submission.tags,
        "custom_fields": submission.custom_fields,
        "ignored_fields": submission.ignored_fields,
    }


# A valid value of each field, so that each case varies one field.
def _row(table: list[Any], value: Any) -> Any:
    return next(row for row in table if isinstance(row[0], type(value)) and row[0] == value)


VALID_PHONE, VALID_NAME = _row(PHONES, "+14155552671"), _row(NAMES, "Ada")
VALID_EMAIL, VALID_TAGS, NO_EXTRAS = _row(EMAILS, "ada@example.com"), _row(TAGS, "a"), _row(EXTRAS, {})


def _id(value: Any) -> str:
    try:
        return json.dumps(repr(value)[:40])
    except ValueError:  # holds an int past CPython's digit limit
        return "<huge int>"


@pytest.mark.parametrize(("phone", "in_us", "in_gb"), PHONES, ids=[_id(row[0]) for row in PHONES])
def test_each_phone_is_judged_as_expected(phone: Any, in_us: Outcome, in_gb: Outcome) -> None:
    for region, outcome in (("US", in_us), ("GB", in_gb)):
        rows = (VALID_NAME, VALID_EMAIL, VALID_TAGS, NO_EXTRAS)
        got = ours(phone, *(row[0] for row in rows), region)
        assert got == expected(outcome, *(row[1] for row in rows)), region


OTHER_FIELDS = [
    (field, value, outcome)
    for field, table in (("name", NAMES), ("email", EMAILS), ("tags", TAGS), ("extra", EXTRAS))
    for value, outcome in table
]


@pytest.mark.parametrize(
    ("field", "value", "outcome"), OTHER_FIELDS, ids=[f"{f}={_id(v)}" for f, v, _ in OTHER_FIELDS]
)
@pytest.mark.parametrize("region", ["US", "GB"])
def test_each_value_of_the_other_fields_is_judged_as_expected(
    field: str, value: Any, outcome: Outcome, region: str
) -> None:
    rows = {"name": VALID_NAME, "email": VALID_EMAIL, "tags": VALID_TAGS, "extra": NO_EXTRAS}
    rows[field] = (value, outcome)
    phone_outcome = VALID_PHONE[1] if region == "US" else VALID_PHONE[2]
    got = ours(VALID_PHONE[0], *(row[0] for row in rows.values()), region)
    assert got == expected(phone_outcome, *(row[1] for row in rows.values()))


_rng = random.Random(20261123)
MIXED = [
    (_rng.choice(PHONES), _rng.choice(NAMES), _rng.choice(EMAILS), _rng.choice(TAGS), _rng.choice(EXTRAS))
    for _ in range(1500)
]


@pytest.mark.parametrize("region", ["US", "GB"])
def test_mixed_payloads_report_every_known_field_in_order_then_the_custom_fields(region: str) -> None:
    for phone, name, email, tags, extra in MIXED:
        phone_outcome = phone[1] if region == "US" else phone[2]
        got = ours(phone[0], name[0], email[0], tags[0], extra[0], region)
        assert got == expected(phone_outcome, name[1], email[1], tags[1], extra[1]), [
            _id(row[0]) for row in (phone, name, email, tags, extra)
        ]


def test_the_corpus_covers_refusals_and_acceptances() -> None:
    valid = {"name": VALID_NAME[0], "email": VALID_EMAIL[0], "tags": VALID_TAGS[0], "extra": NO_EXTRAS[0]}
    outcomes = [ours(phone, *valid.values(), "US") for phone, _, _ in PHONES]
    outcomes += [ours(VALID_PHONE[0], **(valid | {f: v}), region="US") for f, v, _ in OTHER_FIELDS]
    outcomes += [ours(p[0], n[0], e[0], t[0], x[0], "US") for p, n, e, t, x in MIXED]
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
