"""Request and response bodies of the management API (they also make its OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from leadhub.models.account import Plan, Scope


class _Schema(BaseModel):
    # Each model's validator and serializer are built when it is first used, not at import: a cold start
    # serves one route and needs one or two of these models, not all of them (~70 ms to build).
    model_config = ConfigDict(defer_build=True)


class _Request(_Schema):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CreateAccountRequest(_Request):
    name: str = Field(min_length=1, max_length=200)
    plan: Plan = Plan.FREE
    parentAccountId: str | None = Field(
        None, description="Create a managed account under this (agency) account."
    )
    defaultRegion: str | None = Field(
        None, description="ISO 3166 region for national phone numbers; the deployment default when absent."
    )

    @field_validator("defaultRegion")
    @classmethod
    def _known_region(cls, value: str | None) -> str | None:
        if value is None:
            return None
        import phonenumbers  # here: only account creation needs it, and its import costs ~30 ms

        if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("not a supported ISO 3166 region code")
        return value.upper()


class CreateApiKeyRequest(_Request):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1)


class AccountOut(_Schema):
    accountId: str
    name: str
    plan: Plan
    defaultRegion: str
    parentAccountId: str | None
    createdAt: str
    webhookToken: str
    webhookUrl: str


class CreatedAccountOut(AccountOut):
    apiKey: str = Field(description="Shown once: store it now.")


class WebhookTokenOut(_Schema):
    webhookToken: str
    webhookUrl: str


class LeadOut(_Schema):
    leadId: str
    accountId: str
    phone: str | None
    name: str | None
    email: str | None
    tags: list[str]
    customFields: dict[str, str]
    source: str
    capturedAt: str
    updatedAt: str
    lastActivityAt: str
    reEngagedAt: str | None
    lastConversationAt: str | None
    channelIds: dict[str, str]


class LeadPageOut(_Schema):
    items: list[LeadOut]
    nextCursor: str | None


class ApiKeyOut(_Schema):
    keyId: str
    name: str
    scopes: list[str]
    maskedKey: str
    createdAt: str


class CreatedApiKeyOut(ApiKeyOut):
    apiKey: str = Field(description="Shown once: store it now.")


class ApiKeyListOut(_Schema):
    items: list[ApiKeyOut]


class AuditEntryOut(_Schema):
    entryId: str
    action: str
    source: str
    at: str
    actor: str | None
    target: dict[str, str]


class AuditPageOut(_Schema):
    items: list[AuditEntryOut]
    nextCursor: str | None


class EndpointRequest(_Request):
    """Create (name and url required) or PATCH (every field optional; null clears accountFilter and
    payloadTemplate)."""

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


class EndpointVerificationOut(_Schema):
    status: str
    verifiedAt: str | None
    error: str | None


class EndpointOut(_Schema):
    endpointId: str
    name: str
    url: str
    events: list[str]
    accountFilter: list[str] | None
    payloadTemplate: str | None
    headers: dict[str, str]
    enabled: bool
    verification: EndpointVerificationOut
    disabledReason: str | None
    secretRotation: dict[str, str | None]
    createdAt: str
    updatedAt: str


class EndpointWithSecretOut(EndpointOut):
    secret: str = Field(description="The signing secret (whsec_...). Shown only in this response.")


class EndpointListOut(_Schema):
    items: list[EndpointOut]


class DeliveryOut(_Schema):
    deliveryId: str
    endpointId: str
    eventId: str
    event: str
    accountId: str
    status: str
    attempts: int
    lastStatusCode: int | None
    lastError: str | None
    nextAttemptAt: str | None
    deliveredAt: str | None
    createdAt: str
    updatedAt: str


class AttemptOut(_Schema):
    attempt: int
    at: str
    durationMs: float
    statusCode: int | None
    errorClass: str | None
    responseSnippet: str
    nextAttemptAt: str | None
    manual: bool


class DeliveryDetailOut(DeliveryOut):
    payload: dict = Field(description="The event envelope as delivered (before any payload template)")
    attemptLog: list[AttemptOut]


class DeliveryPageOut(_Schema):
    items: list[DeliveryOut]
    nextCursor: str | None


class RecoverRequest(_Request):
    since: datetime = Field(
        description="Re-enqueue failed deliveries created since then (at most 14 days ago)"
    )


class RecoverOut(_Schema):
    requeued: int


class TestSendOut(_Schema):
    delivered: bool
    statusCode: int | None
    durationMs: float
    error: str | None


class WhatsAppConnectRequest(_Request):
    wabaId: str = Field(min_length=1, max_length=64, pattern=r"^[0-9]+$")
    phoneNumberId: str = Field(min_length=1, max_length=64, pattern=r"^[0-9]+$")
    accessToken: str = Field(min_length=1, max_length=4096)


class TelegramConnectRequest(_Request):
    # Bot API tokens look like 123456789:AAH…; anything with other characters cannot be one.
    telegramBotToken: str = Field(min_length=1, max_length=200, pattern=r"^[0-9]+:[A-Za-z0-9_-]+$")


class EmailConnectRequest(_Request):
    emailFromAddress: str = Field(
        max_length=254, pattern=r"^[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
    )
    emailFromName: str = Field(min_length=1, max_length=100)


class IntegrationOut(_Schema):
    """A connected channel; provider credentials are never shown."""

    model_config = ConfigDict(extra="allow")
    channel: str
    connectedAt: str
    webhookUrl: str


class ConversationOut(_Schema):
    conversationId: str
    accountId: str
    leadId: str
    channel: str
    status: str
    createdAt: str
    lastActivityAt: str
    messageCount: int
    autoReply: bool
    closedAt: str | None
    unreachableAt: str | None = Field(
        description="since when the lead cannot be written to (blocked the bot)"
    )
    unreachableReason: str | None


class ConversationPageOut(_Schema):
    items: list[ConversationOut]
    nextCursor: str | None


class MessageOut(_Schema):
    messageId: str
    conversationId: str
    accountId: str
    leadId: str
    channel: str
    direction: str
    type: str
    text: str | None
    content: dict[str, Any]
    status: str
    statusAt: str | None
    errors: list[dict[str, Any]]
    sentAt: str
    receivedAt: str
    editedAt: str | None
    providerMessageId: str


class MessagePageOut(_Schema):
    items: list[MessageOut]
    nextCursor: str | None


class OpeningHoursIn(_Request):
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


class AutomationRequest(_Request):
    kind: Literal["keyword", "pattern", "greeting", "out_of_hours"]
    match: str | None = Field(default=None, max_length=200)
    reply: str = Field(min_length=1, max_length=4096)
    enabled: bool = True
    hours: OpeningHoursIn | None = Field(
        default=None, description="out_of_hours only: when the business is open"
    )


class AutomationOut(_Schema):
    automationId: str
    kind: str
    match: str | None
    reply: str
    enabled: bool
    hours: OpeningHoursOut | None
    createdAt: str


class AutomationListOut(_Schema):
    items: list[AutomationOut]


class ManualMessageRequest(_Request):
    text: str = Field(min_length=1, max_length=4096)


class ConversationPatchRequest(_Request):
    autoReply: bool


class ResponderRequest(_Request):
    responder: Literal["rules", "bedrock"] = "rules"
    autoReply: bool = True
    modelId: str | None = Field(default=None, min_length=1, max_length=200)
    systemPrompt: str = Field(default="", max_length=8000)
    historyMessages: int = Field(default=10, ge=1, le=50)
    maxReplyChars: int = Field(default=1000, ge=20, le=4096)
    fallbackReply: str | None = Field(default=None, min_length=1, max_length=4096)


class ResponderOut(_Schema):
    responder: str
    autoReply: bool
    modelId: str | None
    systemPrompt: str
    historyMessages: int
    maxReplyChars: int
    fallbackReply: str | None
    updatedAt: str | None
