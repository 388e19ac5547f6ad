"""UTC timestamps as ISO-8601 strings with millisecond precision (they sort as text)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def from_unix_or(raw: object, fallback: datetime) -> str:
    """A provider's Unix-seconds timestamp (number or numeric string) as ISO; `fallback` when unreadable."""
    if not isinstance(raw, str | int | float | Decimal):  # what JSON numbers and strings are read as
        return to_iso(fallback)
    try:
        return to_iso(datetime.fromtimestamp(int(raw), tz=UTC))
    except (TypeError, ValueError, OverflowError, OSError):
        return to_iso(fallback)
