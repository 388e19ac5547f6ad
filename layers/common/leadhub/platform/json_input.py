"""Reading JSON from outside (request bodies, provider webhooks, provider API answers): one set of limits
and one wording (NotJson) for what `json.loads` alone gets wrong: NaN and Infinity, 1e400 as infinity,
integers past CPython's 4,300 digits, and nesting as deep as the C stack allows. Two choices per caller:
`exact_numbers` (non-integers as Decimal: DynamoDB stores no floats, and a float rounds a provider's
digits) and `replace_surrogates` (a lone surrogate becomes U+FFFD, so a provider is never told to retry
what can never be stored; kept otherwise, for request validation to refuse with a 400)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from leadhub.platform.errors import InvalidRequest

# No field takes a number this long (the longest text a lead keeps is 1,000 characters), and the limit keeps
# int() far from CPython's digit limit and its quadratic conversion.
MAX_NUMBER_CHARS = 1000
# Request bodies nest two or three levels (payload templates at most 32), providers' payloads under 15:
# the same limit on every runtime.
MAX_NESTING = 100
REPLACEMENT = "\ufffd"
_SURROGATES = re.compile("[\ud800-\udfff]")


class NotJson(ValueError):
    """The text is not JSON we accept; the message (without "Body is …") says why, quoting none of it."""


def loads(
    text: str | bytes,
    *,
    exact_numbers: bool = False,
    replace_surrogates: bool = False,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
) -> Any:
    """`text` (bytes are decoded as `json.loads` does) under the rules above."""
    too_deep = NotJson(f"nested deeper than {MAX_NESTING} levels")
    try:
        value = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_exact_number if exact_numbers else _finite_float,
            parse_int=_bounded_int,
            object_pairs_hook=object_pairs_hook,
        )
    except json.JSONDecodeError as exc:
        raise NotJson(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise too_deep from None
    except UnicodeDecodeError:
        raise NotJson("not UTF-8 text") from None
    # Counting brackets is cheap; only a text with enough of them can nest that deep.
    brackets = (
        text.count(b"[") + text.count(b"{") if isinstance(text, bytes) else text.count("[") + text.count("{")
    )
    if brackets > MAX_NESTING and _nested_deeper(value, MAX_NESTING):
        raise too_deep
    return _replaced(value) if replace_surrogates else value


def read_provider_json(body: bytes | str) -> Any:
    """What providers send us and answer: numbers exact, lone surrogates replaced."""
    return loads(body, exact_numbers=True, replace_surrogates=True)


def parse_object(text: str) -> dict[str, Any]:
    """The JSON object a request body holds; InvalidRequest (400) says what is wrong with any other text."""
    try:
        value = loads(text)
    except NotJson as exc:
        raise InvalidRequest(f"Body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidRequest(f"Body must be a JSON object, not {_JSON_NAMES.get(type(value), 'that')}")
    return value


def object_at(parent: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The JSON object under `key`; an empty one when it is absent or not an object."""
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


_JSON_NAMES: dict[type, str] = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}


def _nested_deeper(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels in `value` (walked without recursion)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def _replaced(value: Any) -> Any:
    """`value` with every lone surrogate in its strings replaced (at most MAX_NESTING levels deep)."""
    if isinstance(value, str):
        return value if value.isascii() else _SURROGATES.sub(REPLACEMENT, value)
    if isinstance(value, list):
        return [_replaced(item) for item in value]
    if isinstance(value, dict):
        return {_replaced(key): _replaced(item) for key, item in value.items()}
    return value


def _reject_constant(name: str) -> Any:
    raise NotJson(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    _check_length(text)
    number = float(text)
    if not math.isfinite(number):
        raise NotJson(f"{text} is out of range")
    return number


def _exact_number(text: str) -> Decimal:
    _check_length(text)
    return Decimal(text)


def _bounded_int(text: str) -> int:
    _check_length(text)
    return int(text)


def _check_length(number: str) -> None:
    if len(number) > MAX_NUMBER_CHARS:
        raise NotJson(f"a number is longer than {MAX_NUMBER_CHARS} characters")


def has_surrogates(text: str) -> bool:
    """Whether `text` holds an unpaired surrogate: JSON allows the escape "\\ud800" alone (an escaped pair
    is decoded into the one character it stands for), and the surrogateescape error handler keeps
    undecodable bytes as such. That text cannot be encoded (UTF-8), stored or sent on."""
    if text.isascii():
        return False
    try:
        text.encode()  # UTF-8 encodes every other code point
    except UnicodeEncodeError:
        return True
    return False


def printable(text: str) -> str:
    """`text` safe to show (and to encode) in an error message: surrogates as backslash escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8") if has_surrogates(text) else text
