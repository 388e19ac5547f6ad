"""The management API's settings."""

from __future__ import annotations

import dataclasses

from leadhub.platform.settings import setting
from leadhub.platform.settings.provider_api import ProviderApiSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class ManagementSettings(ProviderApiSettings):
    kms_key_id: str = setting("KMS_KEY_ID", min_length=1)
    admin_key_parameter: str = setting("ADMIN_KEY_PARAMETER", min_length=1)
    # Base of the webhook URLs we hand out; empty means "the domain the request came in on".
    public_base_url: str = setting("PUBLIC_BASE_URL", "")
    # Local development only: lets endpoints point at http://127.0.0.1 (loopback, nothing else private).
    allow_private_webhook_targets: bool = setting("ALLOW_PRIVATE_WEBHOOK_TARGETS", False)
    # How long a rotated-out endpoint secret keeps signing next to the new one.
    webhook_secret_overlap_hours: float = setting("WEBHOOK_SECRET_OVERLAP_HOURS", 24, ge=0, le=24 * 30)
    delivery_queue_url: str = setting("DELIVERY_QUEUE_URL", min_length=1)
    # Agents' messages are sent by the conversation worker, in order with the automatic replies.
    conversation_queue_url: str = setting("CONVERSATION_QUEUE_URL", min_length=1)
