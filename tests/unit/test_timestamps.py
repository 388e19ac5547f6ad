"""A provider's Unix timestamp is read from whatever JSON value holds it; anything else is the fallback."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from leadhub.platform.timestamps import from_unix_or

FALLBACK = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize("raw", [1700000000, "1700000000", 1700000000.9, Decimal("1700000000.9")])
def test_json_numbers_and_numeric_strings_are_read_as_unix_seconds(raw: object) -> None:
    assert from_unix_or(raw, FALLBACK) == "2023-11-14T22:13:20.000Z"


@pytest.mark.parametrize("raw", [None, "", "soon", "1.5", [1700000000], {"t": 1}, 10**30, float("nan")])
def test_any_other_value_is_the_fallback(raw: object) -> None:
    assert from_unix_or(raw, FALLBACK) == "2024-01-02T03:04:05.000Z"
