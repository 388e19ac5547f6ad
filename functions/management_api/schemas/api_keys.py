"""API keys."""

from __future__ import annotations

from pydantic import Field

from leadhub.accounts.request_models import (
    CreateApiKeyRequest as CreateApiKeyRequest,  # the dashboard's form too
)
from schemas import Schema


class ApiKeyOut(Schema):
    keyId: str
    name: str
    scopes: list[str]
    maskedKey: str
    createdAt: str


class CreatedApiKeyOut(ApiKeyOut):
    apiKey: str = Field(description="Shown once: store it now.")


class ApiKeyListOut(Schema):
    items: list[ApiKeyOut]
