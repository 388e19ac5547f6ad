"""The Telegram webhook's settings."""

from __future__ import annotations

import dataclasses

from leadhub.platform.settings import BaseSettings, setting


@dataclasses.dataclass(frozen=True, kw_only=True)
class TelegramWebhookSettings(BaseSettings):
    # How long a warm environment may reuse a secret-token → account lookup (a disconnected bot's
    # updates are refused within it).
    route_cache_seconds: int = setting("ROUTE_CACHE_SECONDS", 60, ge=0, le=300)
