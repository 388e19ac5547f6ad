"""The WhatsApp webhook's settings."""

from __future__ import annotations

import dataclasses

from leadhub.platform.settings import BaseSettings, setting, shared_setting


@dataclasses.dataclass(frozen=True, kw_only=True)
class WhatsappWebhookSettings(BaseSettings):
    # SSM SecureString parameters holding the Meta app secret (signs POSTs) and our verify token (GET).
    meta_app_secret_parameter: str = setting("META_APP_SECRET_PARAMETER", min_length=1)
    meta_verify_token_parameter: str = setting("META_VERIFY_TOKEN_PARAMETER", min_length=1)
    # Development only: accept unsigned POSTs while no app secret is configured. Off, a stack without the
    # secret answers 503 (Meta retries later) instead of storing messages anyone could have forged.
    meta_skip_signature_check: bool = setting("META_SKIP_SIGNATURE_CHECK", False)
    route_cache_seconds: int = shared_setting("ROUTE_CACHE_SECONDS")
