"""The WhatsApp connect request that the management API and the dashboard's channels form both validate."""

from __future__ import annotations

from pydantic import Field, field_validator

from leadhub.platform.header_text import TOKEN_RULE, is_token
from leadhub.platform.request_models import RequestSchema


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
