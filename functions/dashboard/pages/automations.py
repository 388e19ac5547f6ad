"""Automations (/automations): the rules responder's automations (create, edit, delete, order, enable) and
the responder itself. The same domain functions as /api/automations and /api/responder."""

from __future__ import annotations

from typing import Any

import wiring
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from leadhub.conversations import automations
from leadhub.conversations.adapters.dynamodb_automations import DynamoAutomations
from leadhub.conversations.adapters.dynamodb_responder_settings import DynamoResponderSettings
from leadhub.conversations.automation_rules import Automation, AutomationKind
from leadhub.dashboard import automations as view
from leadhub.dashboard.http import redirect, validated
from leadhub.dashboard.navigation import AUTOMATIONS
from leadhub.dashboard.visit import Visit
from leadhub.platform.errors import Conflict, FieldError, InvalidRequest, NotFound
from leadhub.platform.timestamps import utc_now

router = Router()
store = DynamoAutomations(wiring.settings.table_name)
responders = DynamoResponderSettings(wiring.settings.table_name)
NEW_PATH = f"{AUTOMATIONS.path}/new"
RESPONDER_PATH = f"{AUTOMATIONS.path}/responder"
NOTICES = {
    "created": "The automation was added.",
    "updated": "The automation was saved.",
    "deleted": "The automation was deleted.",
    "responder": "The responder was saved.",
}


def _list_page(visit: Visit, status: int = 200, **context: Any) -> Response[str]:
    account_id = visit.principal.account_id
    event = router.current_event
    shown = view.automations_view(
        automations.list_automations(account_id, store=store),
        responders.get(account_id),
        wiring.settings.automation_cache_seconds,
        view.page_number(event.get_query_string_value("page")),
    )
    done = event.get_query_string_value("done")
    context = {
        "errors": {},
        "responder": view.shown_responder(shown.responder),
        "notice": NOTICES.get(done or ""),
        **context,
    }
    return wiring.show(
        visit,
        "automations.html",
        "Automations",
        status,
        view=shown,
        hours_summary=view.hours_summary,
        **context,
    )


def _form_page(
    visit: Visit, automation: Automation | None, status: int = 200, **context: Any
) -> Response[str]:
    context = {"errors": {}, "form": view.shown_automation(automation), **context}
    title = "Add an automation" if automation is None else "Edit an automation"
    return wiring.show(
        visit,
        "automation_form.html",
        title,
        status,
        automation=automation,
        timezones=view.timezone_groups(),
        **context,
    )


def _find(visit: Visit, automation_id: str) -> Automation:
    listed = automations.list_automations(visit.principal.account_id, store=store)
    found = next((a for a in listed if a.automation_id == automation_id), None)
    if found is None:
        raise NotFound("Automation not found")
    return found


@router.get(AUTOMATIONS.path)
def get_automations() -> Response[str]:
    return _list_page(wiring.visit(router, AUTOMATIONS))


@router.get(NEW_PATH)
def get_new_automation() -> Response[str]:
    return _form_page(wiring.visit(router, AUTOMATIONS), None)


@router.post(AUTOMATIONS.path)
def post_automation() -> Response[str]:
    from leadhub.conversations.request_models import AutomationRequest

    visit, form = wiring.change(router, AUTOMATIONS)
    kind = form.get("kind")
    entered = {"kind": kind, **view.entered_automation(form, kind)}
    try:
        request = validated(AutomationRequest, entered)
        created = automations.create_automation(
            visit.principal.account_id,
            AutomationKind(request.kind),
            request.match,
            request.reply,
            enabled=request.enabled,
            hours=request.hours.to_hours() if request.hours else None,
            store=store,
            actor=visit.principal.key_id,
            source=visit.principal.source,
            now=utc_now(),
        )
    except InvalidRequest as exc:
        errors = view.errors_by_field(exc.details)
        return _form_page(visit, None, 400, errors=errors, form=view.shown_automation(None, entered))
    except Conflict as exc:
        errors = {"kind": exc.message}
        return _form_page(visit, None, 409, errors=errors, form=view.shown_automation(None, entered))
    return redirect(f"{AUTOMATIONS.path}?done=created#{created.automation_id}")


@router.post(RESPONDER_PATH)
def post_responder() -> Response[str]:
    from leadhub.conversations.request_models import ResponderRequest

    visit, form = wiring.change(router, AUTOMATIONS)
    entered = view.entered_responder(form)
    try:
        request = validated(ResponderRequest, entered)
        automations.save_responder(
            request.to_settings(visit.principal.account_id),
            store=responders,
            actor=visit.principal.key_id,
            source=visit.principal.source,
            now=utc_now(),
        )
    except InvalidRequest as exc:
        current = responders.get(visit.principal.account_id)
        return _list_page(
            visit,
            400,
            errors=view.errors_by_field(exc.details),
            responder=view.shown_responder(current, entered),
        )
    return redirect(f"{AUTOMATIONS.path}?done=responder#responder")


@router.get(f"{AUTOMATIONS.path}/<automationId>")
def get_automation(automationId: str) -> Response[str]:
    visit = wiring.visit(router, AUTOMATIONS)
    return _form_page(visit, _find(visit, automationId))


@router.post(f"{AUTOMATIONS.path}/<automationId>")
def post_automation_changes(automationId: str) -> Response[str]:
    from leadhub.conversations.request_models import AutomationUpdateRequest

    visit, form = wiring.change(router, AUTOMATIONS)
    found = _find(visit, automationId)
    entered = view.entered_automation(form, found.kind.value)
    try:
        request = validated(AutomationUpdateRequest, entered)
        automations.update_automation(
            visit.principal.account_id,
            automationId,
            request.changes(),
            store=store,
            actor=visit.principal.key_id,
            source=visit.principal.source,
            now=utc_now(),
        )
    except InvalidRequest as exc:
        errors = view.errors_by_field(exc.details)
        return _form_page(visit, found, 400, errors=errors, form=view.shown_automation(found, entered))
    return redirect(f"{AUTOMATIONS.path}?done=updated#{automationId}")


@router.post(f"{AUTOMATIONS.path}/<automationId>/enabled")
def post_enabled(automationId: str) -> Response[str]:
    visit, form = wiring.change(router, AUTOMATIONS)
    automations.update_automation(
        visit.principal.account_id,
        automationId,
        {"enabled": form.get("enabled") == "true"},
        store=store,
        actor=visit.principal.key_id,
        source=visit.principal.source,
        now=utc_now(),
    )
    return redirect(f"{AUTOMATIONS.path}?page={form.get('page') or 1}#{automationId}")


@router.post(f"{AUTOMATIONS.path}/<automationId>/move")
def post_move(automationId: str) -> Response[str]:
    visit, form = wiring.change(router, AUTOMATIONS)
    try:
        direction = automations.Direction(form.get("direction"))
    except ValueError:
        raise InvalidRequest("Invalid request", [FieldError("direction", "up or down")]) from None
    moved = automations.move_automation(
        visit.principal.account_id,
        automationId,
        direction,
        store=store,
        actor=visit.principal.key_id,
        source=visit.principal.source,
        now=utc_now(),
    )
    position = next(n for n, a in enumerate(moved) if a.automation_id == automationId)
    return redirect(f"{AUTOMATIONS.path}?page={position // view.PAGE_SIZE + 1}#{automationId}")


@router.get(f"{AUTOMATIONS.path}/<automationId>/delete")
def get_delete(automationId: str) -> Response[str]:
    visit = wiring.visit(router, AUTOMATIONS)
    found = _find(visit, automationId)
    return wiring.show(visit, "delete_automation.html", "Delete an automation", automation=found)


@router.post(f"{AUTOMATIONS.path}/<automationId>/delete")
def post_delete(automationId: str) -> Response[str]:
    visit, _ = wiring.change(router, AUTOMATIONS)
    automations.delete_automation(
        visit.principal.account_id,
        automationId,
        store=store,
        actor=visit.principal.key_id,
        source=visit.principal.source,
        now=utc_now(),
    )
    return redirect(f"{AUTOMATIONS.path}?done=deleted")
