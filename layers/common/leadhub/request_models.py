"""Request bodies that the management API and the dashboard's forms both validate: one model per change,
so both refuse the same input with the same words. (The API's other bodies are in its schemas/.)"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from leadhub.models.account import Scope
from leadhub.models.automation import OpeningHours
from leadhub.models.header_text import DISPLAY_NAME_RULE, TOKEN_RULE, is_display_name, is_token
from leadhub.models.responder import ResponderKind, ResponderSettings
from leadhub.models.webhook_endpoint import VerificationMode

if TYPE_CHECKING:
    from leadhub.domain.webhook_endpoints import EndpointChanges


class RequestSchema(BaseModel):
    # Validators are built on first use, not at import (a cold start needs one or two models); unknown
    # fields are refused; strings are stripped.
    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)


class CreateApiKeyRequest(RequestSchema):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1)


# -- outbound webhook endpoints ---------------------------------------------------------------------

VERIFICATION_MODE_DESCRIPTION = (
    "How the signed webhook.verify POST verifies the endpoint: `ping` (default), any 2xx answer; "
    "`echo`, a 2xx whose body echoes the verifyToken. Changing it runs the handshake again."
)
BRING_YOUR_OWN_DESCRIPTION = (
    "Your own signing secret, so that the receiver can check the first handshake's signature: `whsec_` "
    "and the standard, padded base64 of 24-64 random bytes. Absent: Leadhub generates one."
)


class EndpointRequest(RequestSchema):
    """PATCH: every field optional; null clears accountFilter and payloadTemplate."""

    name: str | None = Field(None, min_length=1, max_length=200)
    url: str | None = Field(None, min_length=1, max_length=2048, description="HTTPS, public addresses only")
    events: list[str] | None = Field(None, max_length=20, description="Event types; empty or absent = all")
    accountFilter: list[str] | None = Field(
        None,
        max_length=500,
        description="Agencies: only these managed accounts' events (own always included)",
    )
    payloadTemplate: dict | list | str | None = Field(
        None, description="JSON with {{placeholders}} in strings; sent instead of the event envelope"
    )
    headers: dict[str, str] | None = Field(
        None, description="Custom headers, encrypted at rest, redacted on read"
    )
    enabled: bool | None = None
    verification: VerificationMode | None = Field(None, description=VERIFICATION_MODE_DESCRIPTION)

    def changes(self) -> EndpointChanges:
        """What the request changes: a field left out keeps its value, null clears it."""
        import json

        from leadhub.domain.webhook_endpoints import EndpointChanges

        given = self.model_fields_set
        template = self.payloadTemplate
        return EndpointChanges(
            name=self.name,
            url=self.url,
            events=self.events,
            account_filter=self.accountFilter,
            clear_account_filter="accountFilter" in given and self.accountFilter is None,
            payload_template=json.dumps(template) if isinstance(template, dict | list) else template,
            clear_payload_template="payloadTemplate" in given and template is None,
            headers=self.headers,
            enabled=self.enabled,
            verification_mode=self.verification,
            secret=self.secret if isinstance(self, EndpointCreateRequest) else None,
        )


class EndpointCreateRequest(EndpointRequest):
    """Create: name and url required."""

    secret: str | None = Field(None, max_length=200, description=BRING_YOUR_OWN_DESCRIPTION)


class RotateSecretRequest(RequestSchema):
    secret: str | None = Field(None, max_length=200, description=BRING_YOUR_OWN_DESCRIPTION)


class RecoverRequest(RequestSchema):
    since: datetime = Field(
        description="Re-enqueue failed deliveries created since then (at most 14 days ago)"
    )
    includeSkipped: bool = Field(
        False, description="Also the deliveries skipped while the endpoint was disabled"
    )


class ManualMessageRequest(RequestSchema):
    text: str = Field(min_length=1, max_length=4096)


# -- channels -------------------------------------------------------------------------------------


class WhatsAppConnectRequest(RequestSchema):
    wabaId: str = Field(min_length=1, max_length=64, pattern=r"^[0-9]+$")
    phoneNumberId: str = Field(min_length=1, max_length=64, pattern=r"^[0-9]+$")
    accessToken: str = Field(min_length=1, max_length=4096)

    @field_validator("accessToken")
    @classmethod
    def _header_safe(cls, value: str) -> str:
        # It is sent as `Authorization: Bearer …`: another character would fail every Graph API call.
        if not is_token(value):
            raise ValueError(TOKEN_RULE)
        return value


class TelegramConnectRequest(RequestSchema):
    # Bot API tokens look like 123456789:AAH…; anything with other characters cannot be one.
    telegramBotToken: str = Field(min_length=1, max_length=200, pattern=r"^[0-9]+:[A-Za-z0-9_-]+$")


class EmailConnectRequest(RequestSchema):
    emailFromAddress: str = Field(
        max_length=254, pattern=r"^[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
    )
    emailFromName: str = Field(min_length=1, max_length=100)

    @field_validator("emailFromName")
    @classmethod
    def _display_name(cls, value: str) -> str:
        # The From header's display name of every mail we send (quoted there as RFC 5322 needs).
        if not is_display_name(value):
            raise ValueError(DISPLAY_NAME_RULE)
        return value


# -- automations and the responder ----------------------------------------------------------------


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
