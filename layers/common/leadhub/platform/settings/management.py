"""The management API's settings."""

from __future__ import annotations

import dataclasses

from leadhub.platform.settings import setting, shared_setting
from leadhub.platform.settings.provider_api import ProviderApiSettings
from leadhub.platform.settings.webhook_endpoints import WebhookEndpointSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class ManagementSettings(ProviderApiSettings, WebhookEndpointSettings):
    kms_key_id: str = shared_setting("KMS_KEY_ID")
    admin_key_parameter: str = setting("ADMIN_KEY_PARAMETER", min_length=1)
    public_base_url: str = shared_setting("PUBLIC_BASE_URL")
    # Agents' messages are sent by the conversation worker, in order with the automatic replies.
    conversation_queue_url: str = shared_setting("CONVERSATION_QUEUE_URL")
