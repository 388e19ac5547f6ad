"""The email webhook's settings."""

from __future__ import annotations

import dataclasses

from leadhub.platform.settings import BaseSettings, setting, shared_setting


@dataclasses.dataclass(frozen=True, kw_only=True)
class EmailWebhookSettings(BaseSettings):
    # SSM SecureString holding the Resend webhook's signing secret (whsec_…).
    resend_webhook_secret_parameter: str = setting("RESEND_WEBHOOK_SECRET_PARAMETER", min_length=1)
    resend_receiving_domain: str = shared_setting("RESEND_RECEIVING_DOMAIN")
    route_cache_seconds: int = shared_setting("ROUTE_CACHE_SECONDS")
