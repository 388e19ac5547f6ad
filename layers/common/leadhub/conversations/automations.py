"""Managing how an account's conversations are answered: its responder and its automations."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from leadhub.accounts.audit import AuditEntry
from leadhub.conversations.automation_rules import (
    MAX_PATTERN_CHARS,
    WEEKDAYS,
    Automation,
    AutomationKind,
    OpeningHours,
    in_try_order,
    try_group,
)
from leadhub.conversations.ports import AutomationStore, ResponderStore
from leadhub.conversations.responder_settings import ResponderKind, ResponderSettings
from leadhub.platform.errors import Conflict, FieldError, InvalidRequest, NotFound
from leadhub.platform.ids import sortable_id
from leadhub.platform.timestamps import to_iso

MAX_AUTOMATIONS = 100


def save_responder(
    settings: ResponderSettings, *, store: ResponderStore, actor: str, now: datetime, source: str = "api"
) -> ResponderSettings:
    if settings.kind is ResponderKind.BEDROCK and not settings.model_id:
        raise InvalidRequest(
            "Invalid responder", [FieldError("modelId", "the bedrock responder needs a modelId")]
        )
    at = to_iso(now)
    saved = replace(settings, updated_at=at)
    audit = AuditEntry(
        settings.account_id,
        "responder.updated",
        source,
        at,
        actor=actor,
        target={"responder": settings.kind.value},
    )
    store.save(saved, audit)
    return saved


def list_automations(account_id: str, *, store: AutomationStore) -> list[Automation]:
    """In the order the rules responder tries them."""
    return in_try_order(store.list_for_account(account_id))


def create_automation(
    account_id: str,
    kind: AutomationKind,
    match: str | None,
    reply: str,
    *,
    enabled: bool,
    store: AutomationStore,
    actor: str,
    now: datetime,
    hours: OpeningHours | None = None,
    source: str = "api",
) -> Automation:
    _check_match(kind, match)
    _check_hours(kind, hours)
    existing = store.list_for_account(account_id)
    if len(existing) >= MAX_AUTOMATIONS:
        raise InvalidRequest(f"An account has at most {MAX_AUTOMATIONS} automations")
    if kind is AutomationKind.OUT_OF_HOURS and any(a.kind is kind for a in existing):
        raise Conflict("The account has an out-of-hours automation already; delete it to replace it")
    at = to_iso(now)
    automation = Automation(
        account_id=account_id,
        automation_id=sortable_id("aut"),
        kind=kind,
        reply=reply,
        created_at=at,
        match=match if kind in _MATCHING else None,
        enabled=enabled,
        hours=hours if kind is AutomationKind.OUT_OF_HOURS else None,
    )
    target = {"automationId": automation.automation_id}
    store.insert(
        automation, AuditEntry(account_id, "automation.created", source, at, actor=actor, target=target)
    )
    return automation


# What an update may change; the kind stays (delete and create to change it).
CHANGEABLE = frozenset({"match", "reply", "enabled", "hours"})


def update_automation(
    account_id: str,
    automation_id: str,
    changes: Mapping[str, Any],
    *,
    store: AutomationStore,
    actor: str,
    now: datetime,
    source: str = "api",
) -> Automation:
    """The automation with `changes` (some of match, reply, enabled, hours), checked as at creation."""
    unknown = sorted(set(changes) - CHANGEABLE)
    if unknown:
        raise InvalidRequest("Invalid automation", [FieldError(f, "cannot be changed") for f in unknown])
    found = _find(store, account_id, automation_id)
    updated = replace(found, **changes)
    _check_match(updated.kind, updated.match)
    _check_hours(updated.kind, updated.hours)
    audit = AuditEntry(
        account_id,
        "automation.updated",
        source,
        to_iso(now),
        actor=actor,
        target={"automationId": automation_id},
    )
    if not store.replace(updated, audit):
        raise NotFound("Automation not found")
    return updated


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"


def move_automation(
    account_id: str,
    automation_id: str,
    direction: Direction,
    *,
    store: AutomationStore,
    actor: str,
    now: datetime,
    source: str = "api",
) -> list[Automation]:
    """One place earlier (up) or later (down) among the automations tried in its group (keywords and
    patterns, out-of-hours, greetings): the account's automations in their new try order."""
    ordered = list_automations(account_id, store=store)
    index = next((i for i, a in enumerate(ordered) if a.automation_id == automation_id), None)
    if index is None:
        raise NotFound("Automation not found")
    other = index - 1 if direction is Direction.UP else index + 1
    if not 0 <= other < len(ordered) or try_group(ordered[other].kind) != try_group(ordered[index].kind):
        where = "first" if direction is Direction.UP else "last"
        raise InvalidRequest(
            "Cannot move the automation",
            [FieldError("direction", f"it is tried {where} among its kind's group already")],
        )
    ordered[index], ordered[other] = ordered[other], ordered[index]
    audit = AuditEntry(
        account_id,
        "automation.moved",
        source,
        to_iso(now),
        actor=actor,
        target={"automationId": automation_id, "direction": direction.value},
    )
    store.save_order(account_id, [a.automation_id for a in ordered], audit)
    return ordered


def _find(store: AutomationStore, account_id: str, automation_id: str) -> Automation:
    found = next((a for a in store.list_for_account(account_id) if a.automation_id == automation_id), None)
    if found is None:
        raise NotFound("Automation not found")
    return found


def delete_automation(
    account_id: str,
    automation_id: str,
    *,
    store: AutomationStore,
    actor: str,
    now: datetime,
    source: str = "api",
) -> None:
    audit = AuditEntry(
        account_id,
        "automation.deleted",
        source,
        to_iso(now),
        actor=actor,
        target={"automationId": automation_id},
    )
    if not store.delete(account_id, automation_id, audit):
        raise NotFound("Automation not found")


_MATCHING = frozenset({AutomationKind.KEYWORD, AutomationKind.PATTERN})


def _check_match(kind: AutomationKind, match: str | None) -> None:
    if kind not in _MATCHING:
        if match:
            raise InvalidRequest(
                "Invalid automation", [FieldError("match", f"a {kind.value} matches no text")]
            )
        return
    if not match or not match.strip():
        raise InvalidRequest("Invalid automation", [FieldError("match", f"a {kind.value} needs a match")])
    if len(match) > MAX_PATTERN_CHARS:
        raise InvalidRequest(
            "Invalid automation", [FieldError("match", f"at most {MAX_PATTERN_CHARS} characters")]
        )
    if kind is AutomationKind.PATTERN:
        try:
            re.compile(match)
        except re.error as exc:
            raise InvalidRequest(
                "Invalid automation", [FieldError("match", f"not a regular expression: {exc}")]
            ) from None


def _check_hours(kind: AutomationKind, hours: OpeningHours | None) -> None:
    if kind is not AutomationKind.OUT_OF_HOURS:
        if hours is not None:
            raise InvalidRequest("Invalid automation", [FieldError("hours", "only out_of_hours has hours")])
        return
    if hours is None:
        raise InvalidRequest(
            "Invalid automation", [FieldError("hours", "out_of_hours needs its opening hours")]
        )
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # only out-of-hours automations need it

    problems = []
    try:
        ZoneInfo(hours.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        problems.append(FieldError("hours.timezone", "not an IANA time zone (e.g. Europe/Berlin)"))
    unknown = sorted(set(hours.days) - set(WEEKDAYS))
    if unknown:
        problems.append(FieldError("hours.days", f"unknown days {unknown}; use {', '.join(WEEKDAYS)}"))
    for name in ("opens", "closes"):
        if not _HH_MM.fullmatch(getattr(hours, name)):
            problems.append(FieldError(f"hours.{name}", "a time of day as HH:MM (00:00-23:59)"))
    if problems:
        raise InvalidRequest("Invalid automation", problems)


_HH_MM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
