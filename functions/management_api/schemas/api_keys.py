"""API keys."""

from __future__ import annotations

from pydantic import Field

from leadhub.accounts.models import Scope
from schemas import RequestSchema, Schema


class CreateApiKeyRequest(RequestSchema):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1)


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
