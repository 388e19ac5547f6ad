"""The dashboard's settings."""

from __future__ import annotations

import dataclasses

from leadhub.platform.settings import setting, shared_setting
from leadhub.platform.settings.provider_api import ProviderApiSettings
from leadhub.platform.settings.webhook_endpoints import WebhookEndpointSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class DashboardSettings(WebhookEndpointSettings, ProviderApiSettings):
    """The pages manage endpoints and channels as the management API does (the same settings)."""

    kms_key_id: str = shared_setting("KMS_KEY_ID")
    public_base_url: str = shared_setting("PUBLIC_BASE_URL")
    # Cookies only over https (with the __Host- prefix). Off only on the local stack: plain http on loopback.
    session_cookie_secure: bool = setting("SESSION_COOKIE_SECURE", True)
    # An agent's message written in the inbox is sent through the conversation worker.
    conversation_queue_url: str = shared_setting("CONVERSATION_QUEUE_URL")
    # The worker's value: the automations page says when a change reaches automatic replies.
    automation_cache_seconds: int = shared_setting("AUTOMATION_CACHE_SECONDS")
