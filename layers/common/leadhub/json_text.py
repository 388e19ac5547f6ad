"""Reading JSON that comes from outside: standard JSON only, with numbers a field could hold and nesting
the interpreter can follow. `json.loads` alone accepts NaN and Infinity, turns 1e400 into infinity,
fails on integers past CPython's digit limit (4,300) with a message about `sys.set_int_max_str_digits`,
and runs out of stack on deep nesting; here each is a `NotStrictJson` that says what is wrong."""

from __future__ import annotations

import json
import math
from typing import Any

from leadhub.errors import InvalidRequest

# No field takes a number this long (the longest text a lead keeps is 1,000 characters), and the limit keeps
# int() far from CPython's digit limit and its quadratic conversion.
MAX_NUMBER_CHARS = 1000


class NotStrictJson(ValueError):
    """The text is not JSON we accept; the message (without "Body is …") says why."""


def loads(text: str, **options: Any) -> Any:
    """`json.loads(text, **options)` under the rules above."""
    try:
        return json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
            **options,
        )
    except json.JSONDecodeError as exc:
        raise NotStrictJson(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise NotStrictJson("nested too deeply") from None


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
    """Whether `text` holds an unpaired surrogate: JSON allows the escape "\ud800" alone (an escaped pair
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
