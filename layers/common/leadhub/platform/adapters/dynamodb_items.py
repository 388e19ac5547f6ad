"""Plain Python values <-> DynamoDB attribute values, and the table's key layout.

boto3's conversion (`boto3.dynamodb.types`; tests/unit/test_dynamodb_items.py checks it against it),
written out because importing it imports all of boto3 (~30 ms of every cold start). Two differences: a
float is stored as its shortest repr (a value read back can be written again), and a number DynamoDB
cannot hold (NaN, infinity, more than 38 digits, out of range) is UnstorableInput, not a decimal trap."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Set
from decimal import Clamped, Context, Decimal, DecimalException, Inexact, Overflow, Rounded, Underflow
from typing import Any

from leadhub.platform.errors import UnstorableInput

# DynamoDB's numbers: 38 significant digits, exponents -128..126; anything that would be rounded raises.
_DYNAMODB_CONTEXT = Context(
    Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow]
)
_BINARY_TYPES = (bytes, bytearray)


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """Attribute values for a plain dict; None values are left out (items stay sparse)."""
    return {k: to_attribute(v) for k, v in values.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: from_attribute(v) for k, v in item.items()}


def to_attribute(value: Any) -> dict[str, Any]:
    """The attribute value of `value`: None, bool, int/Decimal/float, str, bytes, sets of numbers,
    strings or bytes, mappings, lists and tuples. TypeError for anything else."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if _is_number(value):
        return {"N": _number_text(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, _BINARY_TYPES):
        return {"B": value}
    if isinstance(value, Set):
        if all(map(_is_number, value)):
            return {"NS": [_number_text(v) for v in value]}
        if all(isinstance(v, str) for v in value):
            return {"SS": list(value)}
        if all(isinstance(v, _BINARY_TYPES) for v in value):
            return {"BS": list(value)}
    if isinstance(value, Mapping):
        return {"M": {k: to_attribute(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_attribute(v) for v in value]}
    raise TypeError(f'Unsupported type "{type(value)}" for value "{value}"')


def from_attribute(value: Mapping[str, Any]) -> Any:
    """The plain value of an attribute value: numbers as int (when integral) or float, binaries as bytes,
    sets as sets."""
    if not value:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    kind = next(iter(value))
    inner = value[kind]
    match kind.upper():
        case "NULL":
            return None
        case "BOOL" | "S":
            return inner
        case "N":
            return _number(inner)
        case "B":
            return _binary(inner)
        case "SS":
            return set(inner)
        case "NS":
            return {_number(v) for v in inner}
        case "BS":
            return {_binary(v) for v in inner}
        case "L":
            return [from_attribute(v) for v in inner]
        case "M":
            return {k: from_attribute(v) for k, v in inner.items()}
    raise TypeError(f"Dynamodb type {kind} is not supported")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | Decimal | float)


def _number_text(value: int | Decimal | float) -> str:
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not exact.is_finite():
        raise UnstorableInput("Infinity and NaN cannot be stored")
    try:
        return str(_DYNAMODB_CONTEXT.create_decimal(exact))
    except DecimalException:  # more digits than DynamoDB keeps, or beyond its exponents
        raise UnstorableInput("A number cannot be stored exactly (at most 38 digits)") from None


def _number(text: str) -> int | float:
    number = _DYNAMODB_CONTEXT.create_decimal(text)
    return int(number) if number == number.to_integral_value() else float(number)


def _binary(value: Any) -> bytes:
    if not isinstance(value, _BINARY_TYPES):
        raise TypeError("Value must be of the following types: <class 'bytearray'>, <class 'bytes'>")
    return bytes(value)


def key_values(key: dict[str, Any]) -> dict[str, str]:
    """A key in DynamoDB JSON ({"pk": {"S": …}, …}) as plain values, to build its item from."""
    return {name: value["S"] for name, value in key.items()}


def account_pk(account_id: str) -> str:
    return f"ACCOUNT#{account_id}"


def from_stream_image(image: dict[str, Any]) -> dict[str, Any]:
    """Plain values of a stream record's image as Lambda delivers it: JSON, so binary values (B, BS)
    arrive base64-encoded and must be decoded first."""
    return from_item({k: _decoded_binaries(v) for k, v in image.items()})


def _decoded_binaries(value: dict[str, Any]) -> dict[str, Any]:
    ((kind, inner),) = value.items()
    if kind == "B" and isinstance(inner, str):
        return {"B": base64.b64decode(inner)}
    if kind == "BS":
        return {"BS": [base64.b64decode(v) if isinstance(v, str) else v for v in inner]}
    if kind == "L":
        return {"L": [_decoded_binaries(v) for v in inner]}
    if kind == "M":
        return {"M": {k: _decoded_binaries(v) for k, v in inner.items()}}
    return value
