"""Rules that answer conversations without a person: keyword or pattern → reply, a message for when
the business is closed, and a greeting for a conversation's first message."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

MAX_PATTERN_CHARS = 200
MAX_REPLY_CHARS = 4096


class AutomationKind(StrEnum):
    KEYWORD = "keyword"  # the message contains the word or phrase (case-insensitive, whole words)
    PATTERN = "pattern"  # a regular expression matches somewhere in the message (case-insensitive)
    GREETING = "greeting"  # the first message of a conversation that no keyword or pattern answered
    OUT_OF_HOURS = "out_of_hours"  # a message outside the opening hours, once per closed period


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The rules responder tries keywords and patterns first, then the out-of-hours message, then the greeting;
# within each group in the account's order.
_TRY_GROUPS = {AutomationKind.OUT_OF_HOURS: 1, AutomationKind.GREETING: 2}  # keywords and patterns: 0


def try_group(kind: AutomationKind) -> int:
    return _TRY_GROUPS.get(kind, 0)


def in_try_order(automations: Iterable[Automation]) -> list[Automation]:
    """`automations` (in the account's order) in the order the rules responder tries them."""
    return sorted(automations, key=lambda a: try_group(a.kind))


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """Open on each of `days` from `opens` to `closes` (local "HH:MM" in `timezone`); a `closes` at or
    before `opens` means open past midnight, into the next day."""

    timezone: str
    days: tuple[str, ...]
    opens: str
    closes: str

    def is_open(self, at: datetime) -> bool:
        return any(start <= at < end for start, end in self._windows_around(at))

    def closed_since(self, at: datetime) -> datetime | None:
        """When the closed period around `at` began: the last closing before it (None: never open)."""
        ends = [end for _, end in self._windows_around(at) if end <= at]
        return max(ends, default=None)

    def _windows_around(self, at: datetime) -> list[tuple[datetime, datetime]]:
        # Imported here: only accounts with opening hours need it, not every worker's cold start.
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(self.timezone)
        today = at.astimezone(zone).date()
        # A week back covers the last closing before `at` even with a single opening day.
        return [
            self._window(day, zone)
            for day in (today - timedelta(days=back) for back in range(8))
            if WEEKDAYS[day.weekday()] in self.days
        ]

    def _window(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
        opens, closes = time.fromisoformat(self.opens), time.fromisoformat(self.closes)
        closing_day = day if closes > opens else day + timedelta(days=1)
        return datetime.combine(day, opens, zone), datetime.combine(closing_day, closes, zone)

    def to_public(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "days": list(self.days),
            "opens": self.opens,
            "closes": self.closes,
        }


@dataclass(frozen=True, slots=True)
class Automation:
    account_id: str
    automation_id: str
    kind: AutomationKind
    reply: str
    created_at: str
    match: str | None = None
    enabled: bool = True
    hours: OpeningHours | None = None  # out_of_hours only

    def matches(self, text: str | None, first_message: bool, at: datetime) -> bool:
        if not self.enabled:
            return False
        if self.kind is AutomationKind.GREETING:
            return first_message
        if self.kind is AutomationKind.OUT_OF_HOURS:
            return self.hours is not None and not self.hours.is_open(at)
        if not text or not self.match:
            return False
        if self.kind is AutomationKind.KEYWORD:
            return re.search(rf"(?<!\w){re.escape(self.match)}(?!\w)", text, re.IGNORECASE) is not None
        return re.search(self.match, text, re.IGNORECASE) is not None

    def to_public(self) -> dict[str, Any]:
        return {
            "automationId": self.automation_id,
            "kind": self.kind.value,
            "match": self.match,
            "reply": self.reply,
            "enabled": self.enabled,
            "hours": self.hours.to_public() if self.hours else None,
            "createdAt": self.created_at,
        }
