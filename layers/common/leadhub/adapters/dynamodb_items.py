"""Plain Python values <-> DynamoDB attribute values, and the table's key layout."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """Attribute values for a plain dict; None values are left out (items stay sparse)."""
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Binary):
        return bytes(value.value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, set):
        return {_plain(v) for v in value}
    return value


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
