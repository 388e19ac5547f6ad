"""How conversations are answered (`conversations:manage`): the responder, and the rules responder's
automations."""

from __future__ import annotations

from typing import Annotated

import deps
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from schemas import JSON_BODY, KEYED, responses
from schemas.automations import (
    AutomationListOut,
    AutomationMoveRequest,
    AutomationOut,
    AutomationRequest,
    AutomationUpdateRequest,
    ResponderOut,
    ResponderRequest,
)

from leadhub.accounts.models import Scope
from leadhub.conversations import automations
from leadhub.conversations.automation_rules import Automation, AutomationKind
from leadhub.platform.timestamps import utc_now

router = Router()
TAGS = ["Automations"]


@router.post(
    "/api/automations",
    summary="Add an automation: a keyword or pattern and its reply, a greeting, or an out-of-hours message",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(
        201, 409, *JSON_BODY, *KEYED, why={409: "The account has an out-of-hours automation already"}
    ),
)
def post_automation(request: AutomationRequest) -> tuple[AutomationOut, int]:
    caller = deps.principal(router, Scope.CONVERSATIONS_MANAGE)
    created = automations.create_automation(
        caller.account_id,
        AutomationKind(request.kind),
        request.match,
        request.reply,
        enabled=request.enabled,
        hours=request.hours.to_hours() if request.hours else None,
        store=deps.automations(),
        actor=caller.key_id,
        now=utc_now(),
    )
    return AutomationOut.model_validate(created.to_public()), 201


@router.get(
    "/api/automations",
    summary="The automations, in the order they are tried",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, *KEYED),
)
def get_automations() -> AutomationListOut:
    caller = deps.principal(router, Scope.CONVERSATIONS_MANAGE)
    return _listing(automations.list_automations(caller.account_id, store=deps.automations()))


def _listing(found: list[Automation]) -> AutomationListOut:
    return AutomationListOut(items=[AutomationOut.model_validate(a.to_public()) for a in found])


@router.patch(
    "/api/automations/<automationId>",
    summary="Change an automation's match, reply, hours or enabled (its kind stays)",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, 400, 404, *JSON_BODY, *KEYED),
)
def patch_automation(
    automationId: Annotated[str, Path(max_length=64)], request: AutomationUpdateRequest
) -> AutomationOut:
    caller = deps.principal(router, Scope.CONVERSATIONS_MANAGE)
    updated = automations.update_automation(
        caller.account_id,
        automationId,
        request.changes(),
        store=deps.automations(),
        actor=caller.key_id,
        now=utc_now(),
    )
    return AutomationOut.model_validate(updated.to_public())


@router.post(
    "/api/automations/<automationId>/move",
    summary="Move an automation one place up or down among those of its group (keywords and patterns, "
    "out-of-hours, greetings); returns them all in the order they are tried",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, 400, 404, *JSON_BODY, *KEYED),
)
def move_automation(
    automationId: Annotated[str, Path(max_length=64)], request: AutomationMoveRequest
) -> AutomationListOut:
    caller = deps.principal(router, Scope.CONVERSATIONS_MANAGE)
    moved = automations.move_automation(
        caller.account_id,
        automationId,
        automations.Direction(request.direction),
        store=deps.automations(),
        actor=caller.key_id,
        now=utc_now(),
    )
    return _listing(moved)


@router.delete(
    "/api/automations/<automationId>",
    summary="Delete an automation",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, 400, 404, *KEYED),
)
def delete_automation(automationId: Annotated[str, Path(max_length=64)]) -> AutomationListOut:
    caller = deps.principal(router, Scope.CONVERSATIONS_MANAGE)
    automations.delete_automation(
        caller.account_id, automationId, store=deps.automations(), actor=caller.key_id, now=utc_now()
    )
    return _listing(automations.list_automations(caller.account_id, store=deps.automations()))


@router.get(
    "/api/responder",
    summary="How conversations are answered",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, *KEYED),
)
def get_responder() -> ResponderOut:
    caller = deps.principal(router, Scope.CONVERSATIONS_MANAGE)
    return ResponderOut.model_validate(deps.responders().get(caller.account_id).to_public())


@router.put(
    "/api/responder",
    summary="Choose the responder (rules or a Bedrock model) and turn automatic replies on or off",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, *JSON_BODY, *KEYED),
)
def put_responder(request: ResponderRequest) -> ResponderOut:
    caller = deps.principal(router, Scope.CONVERSATIONS_MANAGE)
    settings = request.to_settings(caller.account_id)
    saved = automations.save_responder(settings, store=deps.responders(), actor=caller.key_id, now=utc_now())
    return ResponderOut.model_validate(saved.to_public())
