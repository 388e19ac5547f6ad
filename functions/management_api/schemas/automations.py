"""Automations and the account's responder."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from schemas import RequestSchema, Schema


class OpeningHoursIn(RequestSchema):
    timezone: str = Field(max_length=64, description="IANA time zone, e.g. Europe/Berlin")
    days: list[str] = Field(
        default=["mon", "tue", "wed", "thu", "fri"], max_length=7, description="the days it opens: mon … sun"
    )
    opens: str = Field(max_length=5, description="HH:MM local time")
    closes: str = Field(max_length=5, description="HH:MM local time; at or before `opens`: the next day")


class OpeningHoursOut(BaseModel):
    timezone: str
    days: list[str]
    opens: str
    closes: str


class AutomationRequest(RequestSchema):
    kind: Literal["keyword", "pattern", "greeting", "out_of_hours"]
    match: str | None = Field(default=None, max_length=200)
    reply: str = Field(min_length=1, max_length=4096)
    enabled: bool = True
    hours: OpeningHoursIn | None = Field(
        default=None, description="out_of_hours only: when the business is open"
    )


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


class ResponderRequest(RequestSchema):
    responder: Literal["rules", "bedrock"] = "rules"
    autoReply: bool = True
    modelId: str | None = Field(default=None, min_length=1, max_length=200)
    systemPrompt: str = Field(default="", max_length=8000)
    historyMessages: int = Field(default=10, ge=1, le=50)
    maxReplyChars: int = Field(default=1000, ge=20, le=4096)
    fallbackReply: str | None = Field(default=None, min_length=1, max_length=4096)


class ResponderOut(Schema):
    responder: str
    autoReply: bool
    modelId: str | None
    systemPrompt: str
    historyMessages: int
    maxReplyChars: int
    fallbackReply: str | None
    updatedAt: str | None
