"""The management API's settings."""

from __future__ import annotations

import dataclasses

from leadhub.platform.settings import setting
from leadhub.platform.settings.provider_api import ProviderApiSettings
from leadhub.platform.settings.webhook_endpoints import WebhookEndpointSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class ManagementSettings(ProviderApiSettings, WebhookEndpointSettings):
    kms_key_id: str = setting("KMS_KEY_ID", min_length=1)
    admin_key_parameter: str = setting("ADMIN_KEY_PARAMETER", min_length=1)
    # Base of the webhook URLs we hand out; empty means "the domain the request came in on".
    public_base_url: str = setting("PUBLIC_BASE_URL", "")
    # Agents' messages are sent by the conversation worker, in order with the automatic replies.
    conversation_queue_url: str = setting("CONVERSATION_QUEUE_URL", min_length=1)
