"""Request bodies about conversations, automations and the responder that the management API and the
dashboard's forms both validate."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from leadhub.conversations.automation_rules import OpeningHours
from leadhub.conversations.responder_settings import ResponderKind, ResponderSettings
from leadhub.platform.request_models import RequestSchema


class ManualMessageRequest(RequestSchema):
    text: str = Field(min_length=1, max_length=4096)


class OpeningHoursIn(RequestSchema):
    timezone: str = Field(max_length=64, description="IANA time zone, e.g. Europe/Berlin")
    days: list[str] = Field(
        default=["mon", "tue", "wed", "thu", "fri"], max_length=7, description="the days it opens: mon … sun"
    )
    opens: str = Field(max_length=5, description="HH:MM local time")
    closes: str = Field(max_length=5, description="HH:MM local time; at or before `opens`: the next day")

    def to_hours(self) -> OpeningHours:
        return OpeningHours(self.timezone, tuple(dict.fromkeys(self.days)), self.opens, self.closes)


class AutomationRequest(RequestSchema):
    kind: Literal["keyword", "pattern", "greeting", "out_of_hours"]
    match: str | None = Field(default=None, max_length=200)
    reply: str = Field(min_length=1, max_length=4096)
    enabled: bool = True
    hours: OpeningHoursIn | None = Field(
        default=None, description="out_of_hours only: when the business is open"
    )


class AutomationUpdateRequest(RequestSchema):
    """PATCH: the fields to change (the kind stays: delete and create to change it); null clears `match`
    and `hours` and leaves `reply` and `enabled` as they are."""

    match: str | None = Field(default=None, max_length=200)
    reply: str | None = Field(default=None, min_length=1, max_length=4096)
    enabled: bool | None = None
    hours: OpeningHoursIn | None = Field(default=None, description="out_of_hours only")

    def changes(self) -> dict[str, Any]:
        """The fields given (for update_automation), hours as OpeningHours."""
        given = {name: getattr(self, name) for name in self.model_fields_set}
        if self.hours is not None:
            given["hours"] = self.hours.to_hours()
        return {k: v for k, v in given.items() if v is not None or k in ("match", "hours")}


class AutomationMoveRequest(RequestSchema):
    direction: Literal["up", "down"] = Field(
        description="one place earlier or later among the automations of its group"
    )


class ResponderRequest(RequestSchema):
    responder: Literal["rules", "bedrock"] = "rules"
    autoReply: bool = True
    modelId: str | None = Field(default=None, min_length=1, max_length=200)
    systemPrompt: str = Field(default="", max_length=8000)
    historyMessages: int = Field(default=10, ge=1, le=50)
    maxReplyChars: int = Field(default=1000, ge=20, le=4096)
    fallbackReply: str | None = Field(default=None, min_length=1, max_length=4096)

    def to_settings(self, account_id: str) -> ResponderSettings:
        return ResponderSettings(
            account_id=account_id,
            kind=ResponderKind(self.responder),
            auto_reply=self.autoReply,
            model_id=self.modelId,
            system_prompt=self.systemPrompt,
            history_messages=self.historyMessages,
            max_reply_chars=self.maxReplyChars,
            fallback_reply=self.fallbackReply,
        )
