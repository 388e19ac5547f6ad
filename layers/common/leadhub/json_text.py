"""Reading JSON that comes from outside: standard JSON only, with numbers a field could hold and nesting
no field needs. `json.loads` alone accepts NaN and Infinity, turns 1e400 into infinity, fails on
integers past CPython's digit limit (4,300) with a message about `sys.set_int_max_str_digits`, and parses
nesting as deep as the interpreter's C stack allows (about 1,000 levels on Python 3.11, 10,000 on 3.13),
which code that walks the value afterwards may not survive; here each is a `NotStrictJson` that says
what is wrong."""

from __future__ import annotations

import json
import math
from typing import Any

from leadhub.errors import InvalidRequest

# No field takes a number this long (the longest text a lead keeps is 1,000 characters), and the limit keeps
# int() far from CPython's digit limit and its quadratic conversion.
MAX_NUMBER_CHARS = 1000
# Request bodies nest two or three levels (payload templates at most 32): the same limit on every runtime.
MAX_NESTING = 100


class NotStrictJson(ValueError):
    """The text is not JSON we accept; the message (without "Body is …") says why."""


def loads(text: str, **options: Any) -> Any:
    """`json.loads(text, **options)` under the rules above."""
    too_deep = NotStrictJson(f"nested deeper than {MAX_NESTING} levels")
    try:
        value = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
            **options,
        )
    except json.JSONDecodeError as exc:
        raise NotStrictJson(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise too_deep from None
    # Counting brackets is cheap; only a text with enough of them can nest that deep.
    if text.count("[") + text.count("{") > MAX_NESTING and _nested_deeper(value, MAX_NESTING):
        raise too_deep
    return value


def parse_object(text: str) -> dict[str, Any]:
    """The JSON object a request body holds; InvalidRequest (400) says what is wrong with any other text."""
    try:
        value = loads(text)
    except NotStrictJson as exc:
        raise InvalidRequest(f"Body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidRequest(f"Body must be a JSON object, not {_JSON_NAMES.get(type(value), 'that')}")
    return value


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


def _reject_constant(name: str) -> Any:
    raise NotStrictJson(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    _check_length(text)
    number = float(text)
    if not math.isfinite(number):
        raise NotStrictJson(f"{text} is out of range")
    return number


def _bounded_int(text: str) -> int:
    _check_length(text)
    return int(text)


def _check_length(number: str) -> None:
    if len(number) > MAX_NUMBER_CHARS:
        raise NotStrictJson(f"a number is longer than {MAX_NUMBER_CHARS} characters")


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
