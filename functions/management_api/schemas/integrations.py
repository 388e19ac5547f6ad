"""Channel integrations."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from schemas import RequestSchema, Schema


class WhatsAppConnectRequest(RequestSchema):
    wabaId: str = Field(min_length=1, max_length=64, pattern=r"^[0-9]+$")
    phoneNumberId: str = Field(min_length=1, max_length=64, pattern=r"^[0-9]+$")
    accessToken: str = Field(min_length=1, max_length=4096)


class TelegramConnectRequest(RequestSchema):
    # Bot API tokens look like 123456789:AAH…; anything with other characters cannot be one.
    telegramBotToken: str = Field(min_length=1, max_length=200, pattern=r"^[0-9]+:[A-Za-z0-9_-]+$")


class EmailConnectRequest(RequestSchema):
    emailFromAddress: str = Field(
        max_length=254, pattern=r"^[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
    )
    # The display name of the replies' `From` (quoted there as RFC 5322 needs): no control characters,
    # which no header can carry.
    emailFromName: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")


class IntegrationOut(Schema):
    """A connected channel; provider credentials are never shown."""

    model_config = ConfigDict(extra="allow")
    channel: str
    connectedAt: str
    webhookUrl: str
