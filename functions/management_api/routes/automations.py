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
    AutomationOut,
    AutomationRequest,
    OpeningHoursIn,
    ResponderOut,
    ResponderRequest,
)

from leadhub.domain import automations
from leadhub.models.account import Scope
from leadhub.models.automation import AutomationKind, OpeningHours
from leadhub.models.responder import ResponderKind, ResponderSettings
from leadhub.timestamps import utc_now

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
        hours=opening_hours(request.hours),
        store=deps.automations,
        actor=caller.key_id,
        now=utc_now(),
    )
    return AutomationOut.model_validate(created.to_public()), 201


def opening_hours(hours: OpeningHoursIn | None) -> OpeningHours | None:
    if hours is None:
        return None
    return OpeningHours(hours.timezone, tuple(dict.fromkeys(hours.days)), hours.opens, hours.closes)


@router.get(
    "/api/automations",
    summary="The automations, in the order they are tried",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, *KEYED),
)
def get_automations() -> AutomationListOut:
    caller = deps.principal(router, Scope.CONVERSATIONS_MANAGE)
    found = deps.automations.list_for_account(caller.account_id)
    return AutomationListOut(items=[AutomationOut.model_validate(a.to_public()) for a in found])


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
        caller.account_id, automationId, store=deps.automations, actor=caller.key_id, now=utc_now()
    )
    found = deps.automations.list_for_account(caller.account_id)
    return AutomationListOut(items=[AutomationOut.model_validate(a.to_public()) for a in found])


@router.get(
    "/api/responder",
    summary="How conversations are answered",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, *KEYED),
)
def get_responder() -> ResponderOut:
    caller = deps.principal(router, Scope.CONVERSATIONS_MANAGE)
    return ResponderOut.model_validate(deps.responders.get(caller.account_id).to_public())


@router.put(
    "/api/responder",
    summary="Choose the responder (rules or a Bedrock model) and turn automatic replies on or off",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, *JSON_BODY, *KEYED),
)
def put_responder(request: ResponderRequest) -> ResponderOut:
    caller = deps.principal(router, Scope.CONVERSATIONS_MANAGE)
    settings = ResponderSettings(
        account_id=caller.account_id,
        kind=ResponderKind(request.responder),
        auto_reply=request.autoReply,
        model_id=request.modelId,
        system_prompt=request.systemPrompt,
        history_messages=request.historyMessages,
        max_reply_chars=request.maxReplyChars,
        fallback_reply=request.fallbackReply,
    )
    saved = automations.save_responder(settings, store=deps.responders, actor=caller.key_id, now=utc_now())
    return ResponderOut.model_validate(saved.to_public())
