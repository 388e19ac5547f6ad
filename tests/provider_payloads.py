"""Hypothesis strategies for the provider webhooks' property tests (unit and integration): a real sample
payload with arbitrary JSON values put anywhere in it, as a provider (or an attacker with the secret)
could send: floats, huge and long numbers, lone surrogates, deep nesting, long strings, wrong types,
nulls; fields replaced, dropped or added."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

SAMPLES = Path(__file__).resolve().parent / "fixtures" / "samples"
Location = tuple[str | int, ...]


class Raw:
    """JSON text json.dumps cannot write (a 5,000-digit integer, 1,500 levels of nesting): a
    placeholder in the tree, substituted in the body."""

    def __init__(self, text: str) -> None:
        self.text = text


def sample(channel: str, name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / channel / f"{name}.json").read_text())


# The samples the properties start from: every shape of message each webhook stores.
WHATSAPP_SAMPLES = [
    sample("whatsapp", name)
    for name in (
        "text-pywa",
        "image-pywa",
        "interactive-button-reply-pywa",
        "location-pywa",
        "status-failed-pywa",
    )
]
TELEGRAM_SAMPLES = [
    sample("telegram", name)
    for name in (
        "text-start-official",
        "edited-message-official",
        "photo-caption-nutgram",
        "callback-query-nutgram",
    )
]


def locations(value: Any, at: Location = ()) -> list[Location]:
    """Every place in a JSON tree: each key of each object, each item of each array."""
    found: list[Location] = [at] if at else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += locations(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += locations(item, (*at, index))
    return found


# JSON text at and beyond the limits (provider_json, message_limits and DynamoDB's 38 digits).
_RAW = st.one_of(
    st.builds(lambda n: Raw("7" * n), st.sampled_from([38, 39, 100, 101, 5000])),
    st.builds(lambda n: Raw("[" * n + "]" * n), st.sampled_from([30, 63, 64, 65, 1000, 1500])),
    st.builds(lambda n: Raw("0." + "3" * n), st.sampled_from([37, 40, 98, 99])),
)
_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**37, max_value=10**60)  # beyond DynamoDB's 38 digits
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(min_value=-180, max_value=180)  # what coordinates look like
    | st.text(max_size=30)
    | st.text(st.characters(codec=None, categories=["Cs"]), min_size=1, max_size=3)  # lone surrogates
    | st.sampled_from(["\ud800", "a\udfffb", "\ud83d", "😀\ude00"])
    | st.builds(lambda n, c: c * n, st.integers(200, 120_000), st.sampled_from(["x", "é", "😀"]))
    | _RAW
)
JSON_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=8,
)


@st.composite
def mutated(draw: st.DrawFn, payload: dict[str, Any], max_changes: int = 3) -> Any:
    """`payload` with one to `max_changes` places replaced by arbitrary values, dropped, or given a new
    key; every change lands somewhere in the tree as it is by then."""
    tree: Any = copy.deepcopy(payload)
    for _ in range(draw(st.integers(1, max_changes))):
        places = locations(tree)
        if not places:
            break
        at = draw(st.sampled_from(places))
        parent = _at(tree, at[:-1])
        action = draw(st.sampled_from(["replace", "replace", "drop", "add"]))
        if action == "replace" or (action == "drop" and isinstance(parent, list)):
            parent[at[-1]] = draw(JSON_VALUES)
        elif action == "drop":
            del parent[at[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(JSON_VALUES)
        else:
            parent.append(draw(JSON_VALUES))
    return tree


DROP = object()
# One value of each JSON type and of each limit, for sweeps that put each in every place of a sample.
EVERY_KIND: list[Any] = [
    None, True, 0, -1, 1.5, "x", "", [], {}, [1], [None], {"a": 1}, [{}], 10**40, "\ud800",
    Raw("1e400"), Raw("[" * 40 + "]" * 40), DROP,
]  # fmt: skip


def with_value(payload: Any, at: Location, value: Any) -> Any:
    """`payload` with the value at `at` replaced by `value` (DROP: the key removed)."""
    tree = copy.deepcopy(payload)
    parent = _at(tree, at[:-1])
    if value is DROP:
        del parent[at[-1]]
    else:
        parent[at[-1]] = value
    return tree


def _at(tree: Any, at: Location) -> Any:
    for step in at:
        tree = tree[step]
    return tree


def body_of(tree: Any) -> bytes:
    """The JSON body of a tree, Raw placeholders substituted; lone surrogates as \\u escapes, as a
    sender's JSON encoder writes them."""
    raws: list[str] = []

    def encode(value: Any) -> Any:
        if isinstance(value, Raw):
            raws.append(value.text)
            return f"__RAW_{len(raws) - 1}__"
        if isinstance(value, dict):
            return {k: encode(v) for k, v in value.items()}
        if isinstance(value, list):
            return [encode(v) for v in value]
        return value

    text = json.dumps(encode(tree))
    return re.sub(r'"__RAW_(\d+)__"', lambda m: raws[int(m.group(1))], text).encode()


def json_size(value: Any) -> int:
    """UTF-8 bytes of compact JSON, as message_limits measures content."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode())


def depth(value: Any) -> int:
    """Levels of objects and arrays inside each other (a scalar: 0)."""
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list | tuple):
        return 1 + max(map(depth, value), default=0)
    return 0
