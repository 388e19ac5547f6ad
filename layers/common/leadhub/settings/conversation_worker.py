"""The conversation worker's settings."""

from __future__ import annotations

import dataclasses

from leadhub.settings import setting
from leadhub.settings.provider_api import ProviderApiSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConversationWorkerSettings(ProviderApiSettings):
    kms_key_id: str = setting("KMS_KEY_ID", min_length=1)
    conversation_queue_url: str = setting("CONVERSATION_QUEUE_URL", min_length=1)
    # The ConversationQueue's maxReceiveCount: on the last attempt a reply that cannot be sent is marked
    # failed before the job goes to the DLQ.
    conversation_max_attempts: int = setting("CONVERSATION_MAX_ATTEMPTS", 5, ge=1)
    resend_receiving_domain: str = setting("RESEND_RECEIVING_DOMAIN", "")
    # How long a warm worker reuses an account's automations and responder settings.
    automation_cache_seconds: int = setting("AUTOMATION_CACHE_SECONDS", 30, ge=0, le=300)
    # Bedrock runtime endpoint; empty: the region's own. A setting so tests use a loopback fake.
    bedrock_endpoint_url: str = setting("BEDROCK_ENDPOINT_URL", "")
    # A model that takes longer is a failure: the fallback reply (if any) is sent instead.
    bedrock_timeout_seconds: float = setting("BEDROCK_TIMEOUT_SECONDS", 20, gt=0, le=120)
