"""Automations: opening hours (time zones, nights, closed days) and what an automation must say to be
saved."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from leadhub.accounts.audit import AuditEntry
from leadhub.conversations.automation_rules import Automation, AutomationKind, OpeningHours
from leadhub.conversations.automations import (
    Direction,
    create_automation,
    list_automations,
    move_automation,
    update_automation,
)
from leadhub.platform.errors import Conflict, InvalidRequest, NotFound

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
OFFICE = OpeningHours("Europe/Berlin", WEEKDAYS, "09:00", "18:00")
BAR = OpeningHours("America/New_York", ("fri", "sat"), "20:00", "02:00")  # past midnight
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # a Monday


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "is_open"),
    [
        ("2026-11-23T07:59:59", False),  # Monday 08:59:59 in Berlin (UTC+1)
        ("2026-11-23T08:00:00", True),  # 09:00 opens
        ("2026-11-23T16:59:59", True),
        ("2026-11-23T17:00:00", False),  # 18:00 closes
        ("2026-11-28T10:00:00", False),  # Saturday
        ("2026-07-06T07:30:00", True),  # summer time (UTC+2): 09:30 on a Monday
        ("2026-07-06T16:30:00", False),  # 18:30 in summer
    ],
)
def test_office_hours_in_the_accounts_time_zone(at: str, is_open: bool) -> None:
    assert OFFICE.is_open(utc(at)) is is_open


@pytest.mark.parametrize(
    ("at", "is_open"),
    [
        ("2026-11-28T00:59:00", False),  # Friday 19:59 in New York (UTC-5)
        ("2026-11-28T01:00:00", True),  # Friday 20:00
        ("2026-11-28T06:59:00", True),  # Saturday 01:59, still Friday's night
        ("2026-11-28T07:00:00", False),  # Saturday 02:00
        ("2026-11-29T06:30:00", True),  # Sunday 01:30: Saturday's night
        ("2026-11-30T06:30:00", False),  # Monday 01:30: no Sunday night
    ],
)
def test_hours_past_midnight_belong_to_the_day_they_open(at: str, is_open: bool) -> None:
    assert BAR.is_open(utc(at)) is is_open


def test_a_closed_period_began_at_the_last_closing() -> None:
    # Tuesday 07:00 in Berlin: closed since Monday 18:00.
    assert OFFICE.closed_since(utc("2026-11-24T06:00:00")) == utc("2026-11-23T17:00:00")
    # Monday 08:00: closed since Friday 18:00 (the weekend is one closed period).
    assert OFFICE.closed_since(utc("2026-11-30T07:00:00")) == utc("2026-11-27T17:00:00")
    never = OpeningHours("UTC", (), "09:00", "17:00")
    assert never.closed_since(NOW) is None and not never.is_open(NOW)


def test_an_out_of_hours_automation_matches_any_text_outside_the_hours_only() -> None:
    automation = Automation("acc", "aut_1", AutomationKind.OUT_OF_HOURS, "We're closed", "t", hours=OFFICE)
    assert automation.matches("anything", False, utc("2026-11-23T20:00:00"))
    assert automation.matches(None, True, utc("2026-11-23T20:00:00"))  # media, first message: still
    assert not automation.matches("anything", False, utc("2026-11-23T10:00:00"))


# -- saving --------------------------------------------------------------------------------------


@dataclass
class Store:
    """In the account's order: creation order until an order is saved (new ones last), as the table."""

    automations: list[Automation] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)

    def list_for_account(self, account_id: str) -> list[Automation]:
        mine = [a for a in self.automations if a.account_id == account_id]
        position = {automation_id: n for n, automation_id in enumerate(self.order)}
        return sorted(mine, key=lambda a: position.get(a.automation_id, len(position)))

    def insert(self, automation: Automation, audit: AuditEntry) -> None:
        self.automations.append(automation)

    def replace(self, automation: Automation, audit: AuditEntry) -> bool:
        for n, known in enumerate(self.automations):
            if known.automation_id == automation.automation_id:
                self.automations[n] = automation
                self.audit.append(audit)
                return True
        return False

    def delete(self, account_id: str, automation_id: str, audit: AuditEntry) -> bool:
        return False

    def save_order(self, account_id: str, automation_ids: list[str], audit: AuditEntry) -> None:
        self.order = list(automation_ids)
        self.audit.append(audit)


def create(store: Store, kind: AutomationKind, **kw) -> Automation:
    return create_automation(
        "acc",
        kind,
        kw.pop("match", None),
        kw.pop("reply", "We are closed; we answer from 9:00."),
        enabled=True,
        store=store,
        actor="key_1",
        now=NOW,
        **kw,
    )


def test_an_out_of_hours_automation_is_saved_with_its_hours_once_per_account() -> None:
    store = Store()
    saved = create(store, AutomationKind.OUT_OF_HOURS, hours=OFFICE)
    assert saved.hours == OFFICE
    assert saved.to_public()["hours"] == {
        "timezone": "Europe/Berlin",
        "days": list(WEEKDAYS),
        "opens": "09:00",
        "closes": "18:00",
    }
    with pytest.raises(Conflict, match="out-of-hours automation already"):
        create(store, AutomationKind.OUT_OF_HOURS, hours=OFFICE)


@pytest.mark.parametrize(
    ("kind", "fields", "field_name", "message"),
    [
        (AutomationKind.OUT_OF_HOURS, {}, "hours", "needs its opening hours"),
        (AutomationKind.OUT_OF_HOURS, {"hours": OFFICE, "match": "x"}, "match", "matches no text"),
        (AutomationKind.KEYWORD, {"match": "price", "hours": OFFICE}, "hours", "only out_of_hours"),
        (
            AutomationKind.OUT_OF_HOURS,
            {"hours": OpeningHours("Mars/Olympus", WEEKDAYS, "09:00", "18:00")},
            "hours.timezone",
            "IANA time zone",
        ),
        (
            AutomationKind.OUT_OF_HOURS,
            {"hours": OpeningHours("../../etc/passwd", WEEKDAYS, "09:00", "18:00")},
            "hours.timezone",
            "IANA time zone",
        ),
        (
            AutomationKind.OUT_OF_HOURS,
            {"hours": OpeningHours("UTC", ("mon", "funday"), "09:00", "18:00")},
            "hours.days",
            "unknown days ['funday']",
        ),
        (
            AutomationKind.OUT_OF_HOURS,
            {"hours": OpeningHours("UTC", WEEKDAYS, "9am", "18:00")},
            "hours.opens",
            "HH:MM",
        ),
        (
            AutomationKind.OUT_OF_HOURS,
            {"hours": OpeningHours("UTC", WEEKDAYS, "09:00", "24:00")},
            "hours.closes",
            "HH:MM",
        ),
    ],
)
def test_an_automation_that_cannot_work_is_400_naming_the_field(kind, fields, field_name, message) -> None:
    store = Store()
    with pytest.raises(InvalidRequest) as raised:
        create(store, kind, **fields)
    assert [(d.field, message in d.message) for d in raised.value.details] == [(field_name, True)]
    assert store.automations == []


# -- editing and ordering ---------------------------------------------------------------------------


def test_an_update_changes_what_it_names_checks_it_as_create_does_and_keeps_the_kind() -> None:
    store = Store()
    price = create(store, AutomationKind.KEYWORD, match="price", reply="From 900")

    updated = update_automation(
        "acc",
        price.automation_id,
        {"reply": "From 950", "enabled": False},
        store=store,
        actor="k",
        now=NOW,
        source="dashboard",
    )

    assert (updated.kind, updated.match, updated.reply, updated.enabled) == (
        AutomationKind.KEYWORD,
        "price",
        "From 950",
        False,
    )
    assert store.list_for_account("acc") == [updated]
    assert [(a.action, a.source) for a in store.audit] == [("automation.updated", "dashboard")]
    for changes, field_name in (
        ({"match": None}, "match"),
        ({"hours": OFFICE}, "hours"),
        ({"kind": "greeting"}, "kind"),
    ):
        with pytest.raises(InvalidRequest) as raised:
            update_automation("acc", price.automation_id, changes, store=store, actor="k", now=NOW)
        assert [d.field for d in raised.value.details] == [field_name]
    with pytest.raises(NotFound):
        update_automation("acc", "aut_missing", {"reply": "x"}, store=store, actor="k", now=NOW)
    with pytest.raises(NotFound):
        update_automation("other", price.automation_id, {"reply": "x"}, store=store, actor="k", now=NOW)


def test_automations_move_within_their_group_and_are_listed_in_try_order() -> None:
    store = Store()
    greeting = create(store, AutomationKind.GREETING, reply="Hi")
    closed = create(store, AutomationKind.OUT_OF_HOURS, hours=OFFICE)
    price = create(store, AutomationKind.KEYWORD, match="price")
    rent = create(store, AutomationKind.PATTERN, match="rent")
    assert list_automations("acc", store=store) == [price, rent, closed, greeting]

    moved = move_automation("acc", rent.automation_id, Direction.UP, store=store, actor="k", now=NOW)

    assert moved == [rent, price, closed, greeting] == list_automations("acc", store=store)
    assert store.audit[-1].target == {"automationId": rent.automation_id, "direction": "up"}
    for automation, direction in (
        (rent, Direction.UP),
        (price, Direction.DOWN),
        (closed, Direction.UP),
        (greeting, Direction.DOWN),
    ):
        with pytest.raises(InvalidRequest):
            move_automation("acc", automation.automation_id, direction, store=store, actor="k", now=NOW)
    with pytest.raises(NotFound):
        move_automation("other", rent.automation_id, Direction.DOWN, store=store, actor="k", now=NOW)
    viewing = create(store, AutomationKind.KEYWORD, match="viewing")
    assert list_automations("acc", store=store) == [rent, price, viewing, closed, greeting]
