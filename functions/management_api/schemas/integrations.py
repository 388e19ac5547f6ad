"""Channel integrations."""

from __future__ import annotations

from pydantic import ConfigDict, Field, field_validator

from leadhub.models.header_text import DISPLAY_NAME_RULE, TOKEN_RULE, is_display_name, is_token
from schemas import RequestSchema, Schema


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


class IntegrationOut(Schema):
    """A connected channel; provider credentials are never shown."""

    model_config = ConfigDict(extra="allow")
    channel: str
    connectedAt: str
    webhookUrl: str
