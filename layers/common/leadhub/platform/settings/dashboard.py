"""The dashboard's settings."""

from __future__ import annotations

import dataclasses

from leadhub.platform.settings import setting
from leadhub.platform.settings.provider_api import ProviderApiSettings
from leadhub.platform.settings.webhook_endpoints import WebhookEndpointSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class DashboardSettings(WebhookEndpointSettings, ProviderApiSettings):
    """The pages manage endpoints and channels as the management API does (the same settings)."""

    kms_key_id: str = setting("KMS_KEY_ID", min_length=1)
    # Base of the URLs the pages show (the lead webhook's); empty means "the domain the request came in on".
    public_base_url: str = setting("PUBLIC_BASE_URL", "")
    # Cookies only over https (with the __Host- prefix). Off only on the local stack: plain http on loopback.
    session_cookie_secure: bool = setting("SESSION_COOKIE_SECURE", True)
    # The conversation worker's queue: an agent's message written in the inbox is sent through it.
    conversation_queue_url: str = setting("CONVERSATION_QUEUE_URL", min_length=1)
    # The conversation worker's (the same template parameter): the automations page says when a change
    # reaches automatic replies.
    automation_cache_seconds: int = setting("AUTOMATION_CACHE_SECONDS", 30, ge=0, le=300)
