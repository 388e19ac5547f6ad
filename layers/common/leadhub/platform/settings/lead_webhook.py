"""The lead webhook's settings."""

from __future__ import annotations

import dataclasses

from leadhub.platform.settings import BaseSettings, setting


@dataclasses.dataclass(frozen=True, kw_only=True)
class LeadWebhookSettings(BaseSettings):
    # How long a warm environment may reuse a token lookup: a rotated token stops working within it.
    token_cache_seconds: int = setting("TOKEN_CACHE_SECONDS", 60, ge=0, le=60)
