"""The WhatsApp notification reader against the pydantic models it replaced (kept here as the
reference): for Meta's samples and every mutation of them (each value swapped for values of other JSON
types, each key dropped, two at once), the same notification or the same 400 message, which names the
first problem in field order."""

from __future__ import annotations

import copy
import dataclasses
import json
import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from leadhub.domain.whatsapp import parse_notification
from leadhub.errors import InvalidRequest

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "whatsapp"

# -- the reference: the pydantic models and their error message, as they were ----------------------------


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class WaProfile(_Lenient):
    name: str | None = None


class WaContact(_Lenient):
    wa_id: str | None = None
    user_id: str | None = None
    profile: WaProfile | None = None


class WaMetadata(_Lenient):
    phone_number_id: str
    display_phone_number: str | None = None


class WaValue(_Lenient):
    metadata: WaMetadata | None = None
    contacts: list[WaContact] = []
    messages: list[dict[str, Any]] = []
    statuses: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []


class WaChange(_Lenient):
    field: str
    value: WaValue


class WaEntry(_Lenient):
    id: str | None = None
    changes: list[WaChange] = []


class WaNotification(_Lenient):
    object: str
    entry: list[WaEntry] = []


def reference(payload: Any) -> Any:
    """The models' reading of the body `ours` parses, its numbers read as the webhook reads them (exact:
    Decimal for the non-integers)."""
    payload = json.loads(json.dumps(payload), parse_float=Decimal)
    try:
        return WaNotification.model_validate(payload).model_dump()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        return f"Not a WhatsApp notification: {where}: {first['msg']}"


def ours(payload: Any) -> Any:
    try:
        return dataclasses.asdict(parse_notification(json.dumps(payload).encode()))
    except InvalidRequest as exc:
        return exc.message


# -- the corpus ---------------------------------------------------------------------------------------------

OTHER_VALUES: list[Any] = [None, 0, 1.5, True, "x", "", [], {}, [1], [None], [{}], ["x"], {"unknown": 1}]


def samples() -> list[Any]:
    return [json.loads(path.read_text()) for path in sorted(SAMPLES.glob("*.json"))]


def paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key and list index in `value`, parents first."""
    children = (
        value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    )
    for key, child in children:
        yield (*at, key)
        yield from paths(child, (*at, key))


def mutated(payload: Any, path: tuple[Any, ...], replacement: Any) -> Any:
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


DROP = object()


def single_mutations() -> list[Any]:
    cases: list[Any] = [*samples(), [], "x", 1, None, {}, {"object": "whatsapp_business_account"}]
    for sample in samples():
        for path in paths(sample):
            cases += [mutated(sample, path, value) for value in OTHER_VALUES]
            if isinstance(path[-1], str):
                cases.append(mutated(sample, path, DROP))
    return cases


def double_mutations(count: int) -> list[Any]:
    rng = random.Random(20261123)
    cases = []
    for _ in range(count):
        payload = rng.choice(samples())
        for _ in range(2):
            path = rng.choice(list(paths(payload)))
            payload = mutated(
                payload,
                path,
                rng.choice([*OTHER_VALUES, DROP] if isinstance(path[-1], str) else OTHER_VALUES),
            )
        cases.append(payload)
    return cases


def test_meta_samples_are_read_alike() -> None:
    for sample in samples():
        assert ours(sample) == reference(sample)
        assert isinstance(ours(sample), dict)


def test_every_single_mutation_is_read_or_refused_alike() -> None:
    cases = single_mutations()
    assert len(cases) > 1000
    refused = 0
    for payload in cases:
        expected = reference(payload)
        assert ours(payload) == expected, payload
        refused += isinstance(expected, str)
    assert 100 < refused < len(cases)


def test_double_mutations_report_the_same_first_problem() -> None:
    for payload in double_mutations(400):
        assert ours(payload) == reference(payload), payload
