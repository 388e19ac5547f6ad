"""The automations page: the automations in the order they are tried (a page at a time), what moves are
possible, the responder's settings, and the forms' fields in the shape of the API's request bodies."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from leadhub.conversations.automation_rules import WEEKDAYS, Automation, AutomationKind, try_group
from leadhub.conversations.responder_settings import ResponderSettings
from leadhub.dashboard.http import Form

PAGE_SIZE = 40
PREVIEW_CHARS = 100  # of a reply in the list (the whole text is on the automation's own page)
MATCHING = frozenset({AutomationKind.KEYWORD, AutomationKind.PATTERN})
KIND_LABELS = {
    AutomationKind.KEYWORD: "Keyword",
    AutomationKind.PATTERN: "Pattern",
    AutomationKind.GREETING: "Greeting",
    AutomationKind.OUT_OF_HOURS: "Out of hours",
}
DAY_LABELS = dict(zip(WEEKDAYS, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))
DEFAULT_HOURS = {"timezone": "UTC", "days": list(WEEKDAYS[:5]), "opens": "09:00", "closes": "18:00"}


@dataclass(frozen=True, slots=True)
class AutomationRow:
    automation: Automation
    position: int  # 1: tried first
    can_move_up: bool  # within its group: keywords and patterns, out-of-hours, greetings
    can_move_down: bool


@dataclass(frozen=True, slots=True)
class AutomationsView:
    rows: list[AutomationRow]  # this page's
    total: int
    page: int
    pages: int
    responder: ResponderSettings
    cache_seconds: int  # how long a change may take to reach automatic replies


def automations_view(
    in_try_order: list[Automation], responder: ResponderSettings, cache_seconds: int, page: int
) -> AutomationsView:
    pages = max(1, -(-len(in_try_order) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    start = (page - 1) * PAGE_SIZE
    rows = []
    for index in range(start, min(start + PAGE_SIZE, len(in_try_order))):
        group = try_group(in_try_order[index].kind)
        rows.append(
            AutomationRow(
                in_try_order[index],
                index + 1,
                index > 0 and try_group(in_try_order[index - 1].kind) == group,
                index + 1 < len(in_try_order) and try_group(in_try_order[index + 1].kind) == group,
            )
        )
    return AutomationsView(rows, len(in_try_order), page, pages, responder, cache_seconds)


def page_number(text: str | None) -> int:
    """The ?page= parameter; anything but a number is the first page (past the last: the last)."""
    return int(text) if text and text.isascii() and text.isdigit() and len(text) <= 4 else 1


def preview(text: str | None, limit: int = PREVIEW_CHARS) -> str:
    if text is None:
        return ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def hours_summary(automation: Automation) -> str:
    hours = automation.hours
    if hours is None:
        return ""
    days = ", ".join(DAY_LABELS.get(d, d) for d in hours.days) or "never open"
    return f"{days} {hours.opens} to {hours.closes} ({hours.timezone})"


@cache
def timezone_groups() -> list[tuple[str, list[str]]]:
    """Every IANA time zone this runtime knows, grouped by area ("Europe", …; single names: "Other")."""
    from zoneinfo import available_timezones  # reads the zone database's file list: once, on first use

    groups: dict[str, list[str]] = {}
    for name in sorted(available_timezones()):
        area, slash, _ = name.partition("/")
        groups.setdefault(area if slash else "Other", []).append(name)
    return sorted(groups.items())


# -- forms ----------------------------------------------------------------------------------------


def entered_automation(form: Form, kind: str) -> dict[str, Any]:
    """What the automation form says, as the API's body: `match` only when typed, `hours` only for an
    out-of-hours automation (other kinds refuse them, in the domain's words)."""
    entered: dict[str, Any] = {"reply": form.get("reply"), "enabled": form.get("enabled") == "true"}
    if form.get("match").strip() or kind in MATCHING:
        entered["match"] = form.get("match") or None
    if kind == AutomationKind.OUT_OF_HOURS:
        entered["hours"] = {
            "timezone": form.get("timezone"),
            "days": form.get_all("days"),
            "opens": form.get("opens"),
            "closes": form.get("closes"),
        }
    return entered


def shown_automation(automation: Automation | None, entered: dict[str, Any] | None = None) -> dict[str, Any]:
    """The form's values: what was entered, else the automation's, else a new automation's."""
    shown: dict[str, Any] = {
        "kind": "keyword",
        "match": "",
        "reply": "",
        "enabled": True,
        "hours": DEFAULT_HOURS,
    }
    if automation is not None:
        shown |= {
            "kind": automation.kind.value,
            "match": automation.match or "",
            "reply": automation.reply,
            "enabled": automation.enabled,
            "hours": automation.hours.to_public() if automation.hours else DEFAULT_HOURS,
        }
    if entered:
        shown |= {k: v for k, v in entered.items() if v is not None}
    return shown


def entered_responder(form: Form) -> dict[str, Any]:
    """The responder form as the API's body (an empty model id or fallback: none)."""
    entered: dict[str, Any] = {
        "responder": form.get("responder"),
        "autoReply": form.get("autoReply") == "true",
        "systemPrompt": form.get("systemPrompt"),
        "historyMessages": form.get("historyMessages"),
        "maxReplyChars": form.get("maxReplyChars"),
    }
    for name in ("modelId", "fallbackReply"):
        if form.get(name).strip():
            entered[name] = form.get(name)
    return entered


def shown_responder(settings: ResponderSettings, entered: dict[str, Any] | None = None) -> dict[str, Any]:
    shown = settings.to_public()
    if entered:
        shown |= entered
    return shown


def errors_by_field(details: list[Any]) -> dict[str, str]:
    """Field errors by the form field they concern (`hours.timezone` → `timezone`)."""
    errors: dict[str, str] = {}
    for detail in details:
        field = detail.field.removeprefix("hours.").partition(".")[0]
        errors.setdefault(field, detail.message)
    return errors
