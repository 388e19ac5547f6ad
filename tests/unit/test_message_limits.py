"""The bounds on what a message stores: ids refused, texts and names cut with a marker, content kept
while it fits. Examples, and properties over arbitrary content."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadhub.domain.message_limits import (
    MAX_CONTENT_BYTES,
    MAX_CONTENT_DEPTH,
    MAX_ID_CHARS,
    MAX_NAME_CHARS,
    MAX_TEXT_CHARS,
    OMITTED,
    TRUNCATED,
    bounded_content,
    bounded_text,
    storable_inbound,
)
from leadhub.errors import UnstorableInput
from leadhub.models.conversation import Channel, Contact, InboundMessage
from tests.provider_payloads import depth, json_size

INBOUND = InboundMessage(
    account_id="acc_1",
    contact=Contact(Channel.WHATSAPP, "+15550100", name="Ada", phone="+15550100"),
    provider_message_id="wamid.1",
    dedupe_keys=("delivery-1",),
    sent_at="2026-11-23T09:00:00.000Z",
    type="text",
    text="hello",
    content={"latitude": Decimal("37.4611978")},
    route={"phoneNumberId": "1122334455667", "waId": "15550100"},
)
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50)
    | st.builds(lambda n: "x" * n, st.integers(0, 3 * MAX_TEXT_CHARS))
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)


def _longest_string(value: Any) -> int:
    """The longest string among the values (keys are not cut)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return max(map(_longest_string, value.values()), default=0)
    if isinstance(value, list):
        return max(map(_longest_string, value), default=0)
    return 0


@given(st.dictionaries(st.text(max_size=20).filter(lambda k: k != OMITTED), VALUES, max_size=8))
def test_bounded_content_fits_its_limits_and_keeps_what_fits_in_order(content: dict[str, Any]) -> None:
    bounded = bounded_content(content)
    kept = {k: v for k, v in bounded.items() if k != OMITTED}
    assert json_size(kept) <= MAX_CONTENT_BYTES
    assert depth(bounded) <= MAX_CONTENT_DEPTH
    assert _longest_string(kept) <= MAX_TEXT_CHARS
    assert list(kept) == [k for k in content if k in kept]  # in order
    assert bounded.get(OMITTED, []) == [k for k in content if k not in kept]  # the rest, named
    for key, value in kept.items():  # what was kept is the original, or its strings cut
        if _longest_string(content[key]) <= MAX_TEXT_CHARS:
            assert value == content[key]


@given(st.text(max_size=100), st.integers(0, 3 * MAX_TEXT_CHARS))
def test_bounded_text_cuts_long_texts_with_the_marker(start: str, padding: int) -> None:
    text = start + "y" * padding
    bounded = bounded_text(text)
    assert bounded is not None and len(bounded) <= MAX_TEXT_CHARS
    if len(text) <= MAX_TEXT_CHARS:
        assert bounded == text
    else:
        assert bounded.endswith(TRUNCATED) and text.startswith(bounded.removesuffix(TRUNCATED))


def test_content_that_does_not_fit_is_named_under_omitted() -> None:
    content = {
        "latitude": Decimal("37.4611978"),
        "raw": {"blob": ["x" * 10_000] * 10},
        "deep": json.loads("[" * 20 + "]" * 20),
        "name": "Facebook HQ",
    }
    assert bounded_content(content) == {
        "latitude": Decimal("37.4611978"),
        "name": "Facebook HQ",
        OMITTED: ["raw", "deep"],
    }


def test_strings_in_content_are_cut_as_texts_are() -> None:
    bounded = bounded_content({"caption": "c" * (MAX_TEXT_CHARS + 1)})
    assert bounded["caption"] == "c" * (MAX_TEXT_CHARS - len(TRUNCATED)) + TRUNCATED


def test_a_message_is_bounded_text_name_and_content() -> None:
    long = replace(
        INBOUND,
        contact=replace(INBOUND.contact, name="n" * 1000),
        text="t" * 100_000,
        content={"raw": {"x": "y" * 200_000}},
    )
    stored = storable_inbound(long)
    assert stored.contact.name == "n" * (MAX_NAME_CHARS - len(TRUNCATED)) + TRUNCATED
    assert stored.text == "t" * (MAX_TEXT_CHARS - len(TRUNCATED)) + TRUNCATED
    assert stored.content == {"raw": {"x": "y" * (MAX_TEXT_CHARS - len(TRUNCATED)) + TRUNCATED}}
    assert storable_inbound(INBOUND) == INBOUND


@pytest.mark.parametrize(
    "change",
    [
        {"provider_message_id": "w" * (MAX_ID_CHARS + 1)},
        {"type": "t" * (MAX_ID_CHARS + 1)},
        {"dedupe_keys": ("ok", "d" * 5000)},
        {"route": {"phoneNumberId": "1", "waId": "9" * 300}},
        {"conversation_id": "c" * 300},
        {"contact": Contact(Channel.EMAIL, "a" * 300 + "@example.com", email="a" * 300 + "@example.com")},
    ],
    ids=["message id", "type", "dedupe key", "route", "conversation", "sender"],
)
def test_a_message_with_an_id_too_long_is_unstorable(change: dict[str, Any]) -> None:
    with pytest.raises(UnstorableInput, match=f"longer than {MAX_ID_CHARS} characters"):
        storable_inbound(replace(INBOUND, **change))


def test_ids_of_the_limit_are_stored() -> None:
    at_limit = replace(INBOUND, provider_message_id="w" * MAX_ID_CHARS)
    assert storable_inbound(at_limit) == at_limit
