"""The Telegram webhook's settings."""

from __future__ import annotations

import dataclasses

from leadhub.platform.settings import BaseSettings, shared_setting


@dataclasses.dataclass(frozen=True, kw_only=True)
class TelegramWebhookSettings(BaseSettings):
    route_cache_seconds: int = shared_setting("ROUTE_CACHE_SECONDS")
