"""Automations and the account's responder."""

from __future__ import annotations

from pydantic import BaseModel

# Request bodies shared with the dashboard's forms.
from leadhub.conversations.request_models import AutomationMoveRequest as AutomationMoveRequest
from leadhub.conversations.request_models import AutomationRequest as AutomationRequest
from leadhub.conversations.request_models import AutomationUpdateRequest as AutomationUpdateRequest
from leadhub.conversations.request_models import OpeningHoursIn as OpeningHoursIn
from leadhub.conversations.request_models import ResponderRequest as ResponderRequest
from schemas import Schema


class OpeningHoursOut(BaseModel):
    timezone: str
    days: list[str]
    opens: str
    closes: str


class AutomationOut(Schema):
    automationId: str
    kind: str
    match: str | None
    reply: str
    enabled: bool
    hours: OpeningHoursOut | None
    createdAt: str


class AutomationListOut(Schema):
    items: list[AutomationOut]


class ResponderOut(Schema):
    responder: str
    autoReply: bool
    modelId: str | None
    systemPrompt: str
    historyMessages: int
    maxReplyChars: int
    fallbackReply: str | None
    updatedAt: str | None
