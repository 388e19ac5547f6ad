"""Accounts and the operators' account creation."""

from __future__ import annotations

from pydantic import Field, field_validator

from leadhub.accounts.models import Plan
from schemas import RequestSchema, Schema


class CreateAccountRequest(RequestSchema):
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


class AccountOut(Schema):
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


class WebhookTokenOut(Schema):
    webhookToken: str
    webhookUrl: str
