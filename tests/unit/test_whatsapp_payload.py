"""The WhatsApp notification reader (leadhub.channels.whatsapp.notification_payload, through
parse_notification) against explicit expectations: what Meta's samples read as; for every place of their
envelope, what each value of another JSON type put there (or the key dropped) becomes: read, or the exact
400 message naming the first problem; and for two such changes at once, the problem that comes first in the
order the reader's types declare their fields, which is not the order Meta writes them in."""

from __future__ import annotations

import copy
import dataclasses
import json
import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from leadhub.channels.whatsapp.notifications import parse_notification
from leadhub.platform.errors import InvalidRequest

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "whatsapp"


def ours(payload: Any) -> Any:
    """The notification as a plain dict, or the 400's message."""
    try:
        return dataclasses.asdict(parse_notification(json.dumps(payload).encode()))
    except InvalidRequest as exc:
        return exc.message


def as_read(value: Any) -> Any:
    """`value` as the webhook reads it from a body: non-integers as exact Decimals."""
    return json.loads(json.dumps(value), parse_float=Decimal)


def samples() -> dict[str, Any]:
    return {path.name: json.loads(path.read_text()) for path in sorted(SAMPLES.glob("*.json"))}


# -- what Meta's samples read as ----------------------------------------------------------------------------

BSUID = "US.13491208655302741918"
# Each sample's entry id, its contact (wa_id, user_id, profile name, profile username; None: no contacts)
# and the list its change has; the rest of the envelope is alike in all.
SAMPLE_ENVELOPES: dict[str, tuple[str, tuple[str | None, ...] | None, str]] = {
    "image-pywa.json": ("1234567890987654321", ("972987654321", BSUID, "Test Name", None), "messages"),
    "interactive-button-reply-pywa.json": (
        "5467539754836534",
        ("972987654321", BSUID, "Test Name", None),
        "messages",
    ),
    "location-pywa.json": ("1234567890987654321", ("972987654321", None, "Test Name", None), "messages"),
    "status-delivered-bsuid-meta-docs.json": (
        "1234567890987654321",
        (None, BSUID, None, "sheena.nelson"),
        "statuses",
    ),
    "status-delivered-pywa.json": (
        "5467539754836534",
        ("972987654321", BSUID, "Test Name", None),
        "statuses",
    ),
    "status-failed-131047-bsuid-meta-docs.json": ("1234567890987654321", None, "statuses"),
    "status-failed-pywa.json": ("5467539754836534", ("972987654321", BSUID, "Test Name", None), "statuses"),
    "text-phone-and-bsuid-meta-docs.json": (
        "1234567890987654321",
        ("16505551234", BSUID, "Sheena Nelson", "sheena.nelson"),
        "messages",
    ),
    "text-pywa.json": ("1234567890987654321", ("972987654321", BSUID, "Test Name", None), "messages"),
    "text-username-bsuid-meta-docs.json": (
        "1234567890987654321",
        (None, BSUID, "Sheena Nelson", "sheena.nelson"),
        "messages",
    ),
}


def read_as(name: str, sample: Any) -> dict[str, Any]:
    """What sample `name` reads as: its envelope's fields, the ones it lacks as None or [], the keys the
    reader does not know (messaging_product, parent_user_id) left out, messages and statuses kept as sent."""
    entry_id, contact, listed = SAMPLE_ENVELOPES[name]
    contacts = []
    if contact is not None:
        wa_id, user_id, profile_name, username = contact
        profile = {"name": profile_name, "username": username}
        contacts = [{"wa_id": wa_id, "user_id": user_id, "profile": profile}]
    value = {
        "metadata": {"phone_number_id": "1122334455667", "display_phone_number": "972123456789"},
        "contacts": contacts,
        "messages": [],
        "statuses": [],
        "errors": [],
    } | {listed: as_read(sample["entry"][0]["changes"][0]["value"][listed])}
    change = {"field": "messages", "value": value}
    return {"object": "whatsapp_business_account", "entry": [{"id": entry_id, "changes": [change]}]}


# -- what a value put at each place of the envelope becomes -------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Read:
    value: Any  # what the place reads as


@dataclasses.dataclass(frozen=True)
class Refused:
    below: str  # where under the place the problem is ("": the place itself)
    problem: str


Outcome = Read | Refused
DROP = object()
DROPPED = "dropped"
OTHER_VALUES: list[Any] = [None, 0, 1.5, True, "x", "", [], {}, [1], [None], [{}], ["x"], {"unknown": 1}]
# The values put at a place, by their JSON text, and the key dropped.
REPLACEMENTS: dict[str, Any] = {json.dumps(value): value for value in OTHER_VALUES} | {DROPPED: DROP}

NOT_STRING = "Input should be a valid string"
NOT_LIST = "Input should be a valid list"
NOT_DICT = "Input should be a valid dictionary"
REQUIRED = "Field required"


def not_a(model: str) -> str:
    return f"Input should be a valid dictionary or instance of {model}"


def place(refusal: str, outcomes: dict[str, Outcome]) -> dict[str, Outcome]:
    """A place's outcome for each replacement: those given, every other refused at the place with
    `refusal`."""
    return {key: outcomes.get(key, Refused("", refusal)) for key in REPLACEMENTS}


REQUIRED_TEXT = place(NOT_STRING, {'"x"': Read("x"), '""': Read(""), DROPPED: Refused("", REQUIRED)})
OPTIONAL_TEXT = place(NOT_STRING, {'"x"': Read("x"), '""': Read(""), "null": Read(None), DROPPED: Read(None)})


def list_of(item_refusal: str, of_an_empty_object: Outcome) -> dict[str, Outcome]:
    """A list: `[{}]` as `of_an_empty_object` says, a list of non-objects refused at its first item with
    `item_refusal`, every other value refused; dropped, read as []."""
    items_not_objects = {key: Refused(".0", item_refusal) for key in ("[1]", "[null]", '["x"]')}
    return place(
        NOT_LIST, {"[]": Read([]), "[{}]": of_an_empty_object, DROPPED: Read([])} | items_not_objects
    )


def object_of(model: str, empty: Outcome, more: dict[str, Outcome] | None = None) -> dict[str, Outcome]:
    """An object: `{}` and one with only keys the reader does not know both read as `empty`."""
    return place(not_a(model), {"{}": empty, '{"unknown": 1}': empty} | (more or {}))


# A message or a status: any object, kept as sent.
KEPT_OBJECT = place(NOT_DICT, {"{}": Read({}), '{"unknown": 1}': Read({"unknown": 1})})
NO_ENTRY = {"id": None, "changes": []}
NO_VALUE = {"metadata": None, "contacts": [], "messages": [], "statuses": [], "errors": []}
NO_CONTACT = {"wa_id": None, "user_id": None, "profile": None}
NO_PROFILE = {"name": None, "username": None}
ABSENT = {"null": Read(None), DROPPED: Read(None)}
CHANGE = "entry.0.changes.0"
VALUE = f"{CHANGE}.value"
CONTACT = f"{VALUE}.contacts.0"

# Every place of the samples' envelopes the reader checks.
PLACES: dict[str, dict[str, Outcome]] = {
    "object": REQUIRED_TEXT,
    "entry": list_of(not_a("WaEntry"), Read([NO_ENTRY])),
    "entry.0": object_of("WaEntry", Read(NO_ENTRY)),
    "entry.0.id": OPTIONAL_TEXT,
    "entry.0.changes": list_of(not_a("WaChange"), Refused(".0.field", REQUIRED)),
    CHANGE: object_of("WaChange", Refused(".field", REQUIRED)),
    f"{CHANGE}.field": REQUIRED_TEXT,
    VALUE: object_of("WaValue", Read(NO_VALUE), {DROPPED: Refused("", REQUIRED)}),
    f"{VALUE}.metadata": object_of("WaMetadata", Refused(".phone_number_id", REQUIRED), ABSENT),
    f"{VALUE}.metadata.phone_number_id": REQUIRED_TEXT,
    f"{VALUE}.metadata.display_phone_number": OPTIONAL_TEXT,
    f"{VALUE}.contacts": list_of(not_a("WaContact"), Read([NO_CONTACT])),
    CONTACT: object_of("WaContact", Read(NO_CONTACT)),
    f"{CONTACT}.wa_id": OPTIONAL_TEXT,
    f"{CONTACT}.user_id": OPTIONAL_TEXT,
    f"{CONTACT}.profile": object_of("WaProfile", Read(NO_PROFILE), ABSENT),
    f"{CONTACT}.profile.name": OPTIONAL_TEXT,
    f"{CONTACT}.profile.username": OPTIONAL_TEXT,
    f"{VALUE}.messages": list_of(NOT_DICT, Read([{}])),
    f"{VALUE}.messages.0": KEPT_OBJECT,
    f"{VALUE}.statuses": list_of(NOT_DICT, Read([{}])),
    f"{VALUE}.statuses.0": KEPT_OBJECT,
}
# What lies inside a message or a status is kept as sent, whatever it is; keys the reader does not know are
# left out, whatever their value.
KEPT_AS_SENT = (f"{VALUE}.messages.0.", f"{VALUE}.statuses.0.")
UNKNOWN_KEYS = {"messaging_product", "parent_user_id"}

# The order of the fields in the reader's types, in which it reports the first problem. Meta writes `value`
# before `field`, `display_phone_number` before `phone_number_id` and `profile` before `wa_id`.
FIELD_ORDER = [
    *("object", "entry"),  # WaNotification
    *("id", "changes"),  # WaEntry
    *("field", "value"),  # WaChange
    *("metadata", "contacts", "messages", "statuses", "errors"),  # WaValue
    *("phone_number_id", "display_phone_number"),  # WaMetadata
    *("wa_id", "user_id", "profile"),  # WaContact
    *("name", "username"),  # WaProfile
]

# Whole bodies, and what they read as.
BODIES: list[tuple[Any, Any]] = [
    *[
        (body, "Not a WhatsApp notification: body: " + not_a("WaNotification"))
        for body in ([], "x", 1, 1.5, True, None)
    ],
    ({}, "Not a WhatsApp notification: object: Field required"),
    ({"entry": "x"}, "Not a WhatsApp notification: object: Field required"),
    ({"object": 1, "entry": 1}, "Not a WhatsApp notification: object: Input should be a valid string"),
    ({"object": "whatsapp_business_account"}, {"object": "whatsapp_business_account", "entry": []}),
    (
        {"object": "o", "entry": [{"changes": [{"field": "f", "value": {"errors": [{"code": 131000}]}}]}]},
        {
            "object": "o",
            "entry": [
                {"id": None, "changes": [{"field": "f", "value": NO_VALUE | {"errors": [{"code": 131000}]}}]}
            ],
        },
    ),
    (
        {
            "object": "o",
            "entry": [
                {
                    "id": "1",
                    "changes": [{"field": "a", "value": {}}, {"field": "b", "value": {"statuses": [{}]}}],
                },
                {"id": "2"},
            ],
        },
        {
            "object": "o",
            "entry": [
                {
                    "id": "1",
                    "changes": [
                        {"field": "a", "value": NO_VALUE},
                        {"field": "b", "value": NO_VALUE | {"statuses": [{}]}},
                    ],
                },
                {"id": "2", "changes": []},
            ],
        },
    ),
    (
        {"object": "o", "entry": [{"changes": [{"field": "f", "value": {"errors": [1]}}]}]},
        "Not a WhatsApp notification: entry.0.changes.0.value.errors.0: " + NOT_DICT,
    ),
    (
        {"object": "o", "entry": [{"changes": [{"field": "f", "value": {"errors": None}}]}]},
        "Not a WhatsApp notification: entry.0.changes.0.value.errors: " + NOT_LIST,
    ),
    (
        {"object": "o", "entry": [{"id": None}, {"id": 1}, {"id": 2}]},
        "Not a WhatsApp notification: entry.1.id: " + NOT_STRING,
    ),
    (
        {"object": "o", "entry": [{"changes": [{"field": "f", "value": {}}, {"value": 1}]}, 1]},
        "Not a WhatsApp notification: entry.0.changes.1.field: Field required",
    ),
]


# -- the mutations ------------------------------------------------------------------------------------------

Place = tuple[str | int, ...]


def paths(value: Any, at: Place = ()) -> Iterator[Place]:
    """Every key and list index in `value`, parents first."""
    children = (
        value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    )
    for key, child in children:
        yield (*at, key)
        yield from paths(child, (*at, key))


def mutated(payload: Any, path: Place, replacement: Any) -> Any:
    """`payload` with the value at `path` replaced, or dropped when `replacement` is DROP."""
    copied = copy.deepcopy(payload)
    parent = copied
    for key in path[:-1]:
        parent = parent[key]
    if replacement is DROP:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return copied


def replacements(path: Place) -> list[str]:
    """The replacements tried at `path`: a list item cannot be dropped."""
    return [key for key in REPLACEMENTS if key != DROPPED or isinstance(path[-1], str)]


@dataclasses.dataclass(frozen=True)
class Problem:
    location: Place
    message: str


def judged(path: Place, key: str) -> Problem | Read | None:
    """What REPLACEMENTS[key] at `path` becomes: a problem, what the place reads as (DROP: gone from a
    message or status), or None where the reader does not look."""
    where = ".".join(map(str, path))
    if where in PLACES:
        outcome = PLACES[where][key]
        if isinstance(outcome, Refused):
            below = tuple(int(p) if p.isdigit() else p for p in outcome.below.split(".")[1:])
            return Problem((*path, *below), outcome.problem)
        return outcome
    if where.startswith(KEPT_AS_SENT):
        replacement = REPLACEMENTS[key]
        return Read(DROP if replacement is DROP else as_read(replacement))
    assert path[-1] in UNKNOWN_KEYS, f"no expectation for {where}"
    return None


def expected(name: str, sample: Any, *changes: tuple[Place, str]) -> Any:
    """What sample `name` with `changes` (places none inside another) reads as: the problem that comes first
    in field order, else the sample's reading with each changed place read as its outcome says."""
    outcomes = [(path, judged(path, key)) for path, key in changes]
    problems = [outcome for _, outcome in outcomes if isinstance(outcome, Problem)]
    if problems:
        first = min(problems, key=lambda problem: in_field_order(problem.location))
        return f"Not a WhatsApp notification: {'.'.join(map(str, first.location))}: {first.message}"
    notification = read_as(name, sample)
    for path, outcome in outcomes:
        if isinstance(outcome, Read):
            notification = mutated(notification, path, outcome.value)
    return notification


def in_field_order(location: Place) -> list[int]:
    """A sort key: two locations first differ in two fields of one object or two items of one list."""
    return [FIELD_ORDER.index(part) if isinstance(part, str) else part for part in location]


def double_changes(count: int) -> list[tuple[str, tuple[Place, str], tuple[Place, str]]]:
    """`count` pairs of changes to one sample, at places none inside the other."""
    rng = random.Random(20261123)
    everything = samples()
    pairs = []
    while len(pairs) < count:
        name = rng.choice(sorted(everything))
        first, second = rng.sample(list(paths(everything[name])), 2)
        if first[: len(second)] == second or second[: len(first)] == first:
            continue
        pairs.append(
            (name, (first, rng.choice(replacements(first))), (second, rng.choice(replacements(second))))
        )
    return pairs


# -- the tests ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SAMPLE_ENVELOPES))
def test_each_meta_sample_reads_as_its_envelope(name: str) -> None:
    sample = samples()[name]
    assert ours(sample) == read_as(name, sample)


def test_the_expectations_name_every_sample_and_only_places_the_samples_have() -> None:
    assert sorted(samples()) == sorted(SAMPLE_ENVELOPES)
    places = {".".join(map(str, path)) for sample in samples().values() for path in paths(sample)}
    assert set(PLACES) <= places


@pytest.mark.parametrize(("body", "outcome"), BODIES, ids=[json.dumps(body)[:40] for body, _ in BODIES])
def test_whole_bodies_read_as_stated(body: Any, outcome: Any) -> None:
    assert ours(body) == outcome


@pytest.mark.parametrize("name", sorted(SAMPLE_ENVELOPES))
def test_every_value_at_every_place_of_a_sample_is_read_or_refused_as_stated(name: str) -> None:
    sample = samples()[name]
    cases = [(path, key) for path in paths(sample) for key in replacements(path)]
    assert len(cases) > 300
    refused = 0
    for path, key in cases:
        outcome = expected(name, sample, (path, key))
        assert ours(mutated(sample, path, REPLACEMENTS[key])) == outcome, (path, key)
        refused += isinstance(outcome, str)
    assert 100 < refused < len(cases) - 100


def test_two_changes_at_once_report_the_problem_first_in_field_order() -> None:
    pairs = double_changes(1000)
    refused = both_refused = 0
    for name, first, second in pairs:
        sample = samples()[name]
        payload = mutated(
            mutated(sample, first[0], REPLACEMENTS[first[1]]), second[0], REPLACEMENTS[second[1]]
        )
        outcome = expected(name, sample, first, second)
        assert ours(payload) == outcome, (name, first, second)
        refused += isinstance(outcome, str)
        both_refused += all(isinstance(judged(*change), Problem) for change in (first, second))
    assert 200 < refused < len(pairs) - 100
    assert both_refused > 100
