"""Request and response bodies of the management API (they also make its OpenAPI document)."""

from __future__ import annotations

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator

from leadhub.models.account import Plan, Scope


class _Request(BaseModel):
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
        if value is not None and value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("not a supported ISO 3166 region code")
        return value.upper() if value else None


class CreateApiKeyRequest(_Request):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1)


class AccountOut(BaseModel):
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


class WebhookTokenOut(BaseModel):
    webhookToken: str
    webhookUrl: str


class LeadOut(BaseModel):
    leadId: str
    accountId: str
    phone: str
    name: str | None
    email: str | None
    tags: list[str]
    customFields: dict[str, str]
    source: str
    capturedAt: str
    updatedAt: str
    lastActivityAt: str
    reEngagedAt: str | None


class LeadPageOut(BaseModel):
    items: list[LeadOut]
    nextCursor: str | None


class ApiKeyOut(BaseModel):
    keyId: str
    name: str
    scopes: list[str]
    maskedKey: str
    createdAt: str


class CreatedApiKeyOut(ApiKeyOut):
    apiKey: str = Field(description="Shown once: store it now.")


class ApiKeyListOut(BaseModel):
    items: list[ApiKeyOut]


class AuditEntryOut(BaseModel):
    entryId: str
    action: str
    source: str
    at: str
    actor: str | None
    target: dict[str, str]


class AuditPageOut(BaseModel):
    items: list[AuditEntryOut]
    nextCursor: str | None
