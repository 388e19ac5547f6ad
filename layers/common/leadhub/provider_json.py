"""Reading the JSON that providers send (WhatsApp, Telegram and Resend webhooks, and their APIs' answers):
one rule for all of it, applied once while parsing.

- Numbers stay exact: integers as int, the others as Decimal (DynamoDB stores no floats, and a float
  would round the provider's digits).
- A lone surrogate (`"\\ud800"`, which no UTF-8 can carry) becomes U+FFFD, in keys and values alike: the
  text is kept, and a provider is never told to retry what can never be stored.
- Limits instead of crashes: a value nested more than MAX_DEPTH levels, a number longer than
  MAX_NUMBER_CHARS characters, NaN and Infinity are not JSON we read (NotJson).

The standard library's parser with hooks: a webhook's cold start imports nothing more."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

MAX_DEPTH = 64  # objects and arrays inside each other; the providers' own stay under 15
MAX_NUMBER_CHARS = 100  # no provider's number comes near; 5,000 digits cost a parser seconds
_SURROGATES = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


class NotJson(ValueError):
    """The body is not JSON we read; the message says why (and quotes none of it)."""


def read_provider_json(body: bytes | str) -> Any:
    try:
        value = json.loads(body, parse_int=_integer, parse_float=_decimal, parse_constant=_constant)
    except RecursionError:
        raise NotJson(f"nested more than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise NotJson(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except UnicodeDecodeError:
        raise NotJson("not UTF-8 text") from None
    except ValueError as exc:  # a refusal of the hooks below
        raise NotJson(str(exc)) from None
    return _cleaned(value, 0)


def _integer(text: str) -> int:
    return int(_short(text))


def _decimal(text: str) -> Decimal:
    return Decimal(_short(text))


def _short(number: str) -> str:
    if len(number) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number longer than {MAX_NUMBER_CHARS} characters")
    return number


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _cleaned(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return value if value.isascii() else _SURROGATES.sub(REPLACEMENT, value)
    if isinstance(value, dict | list):
        if depth == MAX_DEPTH:
            raise NotJson(f"nested more than {MAX_DEPTH} levels")
        if isinstance(value, list):
            return [_cleaned(item, depth + 1) for item in value]
        return {_cleaned(key, depth): _cleaned(item, depth + 1) for key, item in value.items()}
    return value
