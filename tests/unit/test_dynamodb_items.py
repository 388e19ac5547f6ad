"""The attribute-value conversion of leadhub.adapters.dynamodb_items against boto3's own (which it replaces
in the functions, so that they need not import boto3): the same attribute values each way, the same
refusals, with numbers read back as int or float and binaries as bytes. Except, deliberately: floats are
stored (as their shortest repr), and numbers DynamoDB cannot hold exactly are UnstorableInput."""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

from leadhub.adapters.dynamodb_items import (
    from_attribute,
    from_item,
    from_stream_image,
    to_attribute,
    to_item,
)
from leadhub.errors import UnstorableInput

VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -7,
    2**63,
    10**37,
    Decimal("1.5"),
    Decimal("-0.001"),
    Decimal("1E+2"),
    Decimal("12345678901234567890.123456789012345678"),
    "",
    "text with ünïcode ✓",
    b"",
    b"\x00\x01\xff",
    bytearray(b"ab"),
    {1, 2, 3},
    {Decimal("0.5"), 7},
    frozenset({"a", "b"}),
    {b"x", b"y"},
    [],
    [1, "a", None, [True, {"k": b"v"}]],
    ("tuple", 1),
    {},
    {"nested": {"list": [1, 2], "set": {"s"}, "none": None, "bytes": b"\x01"}},
]


def _plain(value: Any) -> Any:
    """What from_attribute promises for boto3's deserialised value."""
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


def _sorted_sets(attribute: Any) -> Any:
    """Set members come out in iteration order; compare them sorted."""
    if isinstance(attribute, dict):
        sets = ("SS", "NS", "BS")
        return {k: sorted(v, key=repr) if k in sets else _sorted_sets(v) for k, v in attribute.items()}
    if isinstance(attribute, list):
        return [_sorted_sets(v) for v in attribute]
    return attribute


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_values_serialise_as_boto3_serialises_them(value: Any) -> None:
    assert _sorted_sets(to_attribute(value)) == _sorted_sets(TypeSerializer().serialize(value))


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_attribute_values_read_back_as_boto3_reads_them_in_plain_types(value: Any) -> None:
    attribute = TypeSerializer().serialize(value)
    assert from_attribute(attribute) == _plain(TypeDeserializer().deserialize(attribute))


@pytest.mark.parametrize(
    "attribute",
    [
        {"N": "3.14159"},
        {"N": "-12"},
        {"N": "1e2"},
        {"N": "0.000"},
        {"N": "99999999999999999999999999999999999999"},
        {"NS": ["1", "2.5"]},
        {"B": b"\x00"},
        {"BS": [b"a", b"b"]},
        {"SS": ["x"]},
        {"NULL": True},
        {"BOOL": False},
        {"L": [{"S": "a"}, {"N": "1"}, {"M": {"b": {"B": b"z"}}}]},
        {"s": "lower-case type names are accepted, as by boto3"},
    ],
    ids=repr,
)
def test_what_dynamodb_returns_reads_as_boto3_reads_it(attribute: dict[str, Any]) -> None:
    assert from_attribute(attribute) == _plain(TypeDeserializer().deserialize(attribute))


def test_plain_types_come_back_as_int_float_and_bytes() -> None:
    item = {"n": {"N": "10"}, "f": {"N": "0.25"}, "b": {"B": b"\x01"}, "ns": {"NS": ["1", "1.5"]}}
    assert from_item(item) == {"n": 10, "f": 0.25, "b": b"\x01", "ns": {1, 1.5}}
    assert type(from_item(item)["n"]) is int


@pytest.mark.parametrize(
    ("value", "message"),  # message: what the exception's text starts with
    [
        (object(), "Unsupported type"),
        ({"a", 1}, "Unsupported type"),  # a set of mixed types
    ],
    ids=repr,
)
def test_what_boto3_refuses_as_a_programming_error_is_refused_alike(value: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message) as ours:
        to_attribute(value)
    with pytest.raises(TypeError) as theirs:
        TypeSerializer().serialize(value)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize(
    "value",
    [
        Decimal("NaN"),
        Decimal("Infinity"),
        float("nan"),
        [float("-inf")],
        10**40,  # more digits than DynamoDB keeps
        Decimal("1E+200"),  # beyond its exponents
        {Decimal("1E-200")},
        1e-300,
    ],
    ids=repr,
)
def test_numbers_dynamodb_cannot_hold_exactly_are_the_inputs_fault(value: Any) -> None:
    """boto3 refuses them too (TypeError or a decimal trap); here they are UnstorableInput: a 400, or a
    message a provider webhook acknowledges and ignores, never a 500."""
    with pytest.raises(UnstorableInput):
        to_attribute(value)
    with pytest.raises((TypeError, decimal.DecimalException)):
        TypeSerializer().serialize(value)


@pytest.mark.parametrize("value", [1.5, -0.001, 37.7749295, -122.4194155, 1e-120, 0.1])
def test_floats_are_stored_as_their_shortest_repr_and_read_back_as_the_same_float(value: float) -> None:
    """What from_attribute reads (floats) can be written again, as the fan-out does with message content;
    boto3 refuses floats outright."""
    attribute = to_attribute({"v": [value]})
    [number] = attribute["M"]["v"]["L"]
    assert Decimal(number["N"]) == Decimal(repr(value))
    assert from_attribute(attribute) == {"v": [value]}
    assert from_attribute(to_attribute(Decimal("0.1"))) == 0.1


@pytest.mark.parametrize("attribute", [{}, {"X": "1"}, {"B": "text, not bytes"}], ids=repr)
def test_unreadable_attribute_values_are_refused_alike(attribute: dict[str, Any]) -> None:
    with pytest.raises(TypeError) as ours:
        from_attribute(attribute)
    with pytest.raises(TypeError) as theirs:
        TypeDeserializer().deserialize(attribute)
    assert str(ours.value) == str(theirs.value)


def test_items_leave_none_values_out_and_keep_nested_nulls() -> None:
    assert to_item({"a": None, "b": {"c": None}, "d": [None]}) == {
        "b": {"M": {"c": {"NULL": True}}},
        "d": {"L": [{"NULL": True}]},
    }


def test_stream_images_decode_base64_binaries() -> None:
    image = {
        "b": {"B": "AAE="},
        "bs": {"BS": ["eA==", "eQ=="]},
        "m": {"M": {"l": {"L": [{"B": "/w=="}]}}},
        "n": {"N": "5"},
    }
    assert from_stream_image(image) == {"b": b"\x00\x01", "bs": {b"x", b"y"}, "m": {"l": [b"\xff"]}, "n": 5}
