"""The one reader of providers' JSON: exact numbers, lone surrogates replaced, limits instead of crashes.
Examples, and properties over arbitrary JSON and arbitrary bytes."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadhub.provider_json import MAX_DEPTH, MAX_NUMBER_CHARS, REPLACEMENT, NotJson, read_provider_json

# Any text, lone surrogates included (json.dumps writes them as \ud800 escapes, as a sender may).
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=20)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


def _replaced(value: Any) -> Any:
    """The standard library's reading (numbers exact) with every surrogate code point replaced: what the
    reader promises."""
    if isinstance(value, str):
        return "".join(REPLACEMENT if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
    if isinstance(value, list):
        return [_replaced(v) for v in value]
    if isinstance(value, dict):
        return {_replaced(k): _replaced(v) for k, v in value.items()}
    return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    return []


@given(JSON_VALUES, st.booleans())
def test_any_json_reads_back_exactly_with_surrogates_replaced(value: Any, ascii_only: bool) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    read = read_provider_json(body)
    assert read == _replaced(json.loads(body, parse_float=Decimal))
    for text in _strings(read):
        text.encode("utf-8")  # every string can be stored as UTF-8
    assert not any(isinstance(n, float) for n in _numbers(read))


def _numbers(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    return [value] if isinstance(value, int | float | Decimal) and not isinstance(value, bool) else []


@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_json_or_not_json_never_another_error(body: bytes) -> None:
    try:
        read_provider_json(body)
    except NotJson as exc:
        assert str(exc)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 1500 + b"]" * 1500, f"nested more than {MAX_DEPTH} levels"),  # RecursionError in json
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), f"nested more than {MAX_DEPTH} levels"),
        (b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1), f"nested more than {MAX_DEPTH} levels"),
        (b'{"n": ' + b"7" * 5000 + b"}", f"a number longer than {MAX_NUMBER_CHARS} characters"),
        (b"[0." + b"1" * 200 + b"]", f"a number longer than {MAX_NUMBER_CHARS} characters"),
        (b'{"n": NaN}', "NaN is not a JSON number"),
        (b"[-Infinity]", "-Infinity is not a JSON number"),
        (b'{"a": "\xff"}', "not UTF-8 text"),
        (b'{"a": 1', "Expecting ',' delimiter at line 1 column 8"),
    ],
    ids=[
        "recursion",
        "array depth",
        "object depth",
        "5000 digits",
        "long float",
        "NaN",
        "-Infinity",
        "bytes",
        "cut",
    ],
)
def test_limits_refuse_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(NotJson) as refused:
        read_provider_json(body)
    assert str(refused.value) == reason


def test_the_deepest_accepted_value_and_the_longest_number() -> None:
    deepest = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert read_provider_json(deepest) is not None
    assert read_provider_json(b"9" * MAX_NUMBER_CHARS) == int("9" * MAX_NUMBER_CHARS)


def test_floats_keep_every_digit_the_provider_sent() -> None:
    read = read_provider_json(b'{"latitude": 37.46119780000000000001, "longitude": -122.2164385}')
    assert read == {"latitude": Decimal("37.46119780000000000001"), "longitude": Decimal("-122.2164385")}


def test_a_lone_surrogate_in_a_key_or_value_becomes_the_replacement_character() -> None:
    body = b'{"text": "hi \\ud800 there", "\\udfff": ["\\ud83d\\ude00", "\\ude00\\ud83d"]}'
    assert read_provider_json(body) == {"text": "hi \ufffd there", "\ufffd": ["\U0001f600", "\ufffd\ufffd"]}
