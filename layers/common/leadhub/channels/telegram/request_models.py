"""The Telegram connect request that the management API and the dashboard's channels form both validate."""

from __future__ import annotations

from pydantic import Field

from leadhub.platform.request_models import RequestSchema


class TelegramConnectRequest(RequestSchema):
    # Bot API tokens look like 123456789:AAH…; anything with other characters cannot be one.
    telegramBotToken: str = Field(min_length=1, max_length=200, pattern=r"^[0-9]+:[A-Za-z0-9_-]+$")
