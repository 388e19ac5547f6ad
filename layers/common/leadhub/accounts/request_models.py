"""Request bodies about API keys that the management API and the dashboard both validate."""

from __future__ import annotations

from pydantic import Field

from leadhub.accounts.models import Scope
from leadhub.platform.request_models import RequestSchema


class CreateApiKeyRequest(RequestSchema):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1)
