"""The conversation worker's settings."""

from __future__ import annotations

import dataclasses

from leadhub.platform.settings import schedule_check, setting, shared_setting
from leadhub.platform.settings.provider_api import ProviderApiSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConversationWorkerSettings(ProviderApiSettings):
    kms_key_id: str = shared_setting("KMS_KEY_ID")
    conversation_queue_url: str = shared_setting("CONVERSATION_QUEUE_URL")
    # Where the worker moves a job whose reply could not be sent on any attempt (the reply is failed).
    conversation_dlq_url: str = setting("CONVERSATION_DLQ_URL", min_length=1)
    # Delay before each attempt to send a reply through a provider that refused it for now (as for
    # deliveries); the ConversationQueue's maxReceiveCount must be larger (it catches crashed jobs).
    conversation_retry_schedule: str = setting(
        "CONVERSATION_RETRY_SCHEDULE", "0s,15s,1m,5m,15m", check=schedule_check
    )
    resend_receiving_domain: str = shared_setting("RESEND_RECEIVING_DOMAIN")
    automation_cache_seconds: int = shared_setting("AUTOMATION_CACHE_SECONDS")
    # Bedrock runtime endpoint; empty: the region's own. A setting so tests use a loopback fake.
    bedrock_endpoint_url: str = setting("BEDROCK_ENDPOINT_URL", "")
    # A model that takes longer is a failure: the fallback reply (if any) is sent instead.
    bedrock_timeout_seconds: float = setting("BEDROCK_TIMEOUT_SECONDS", 10, gt=0, le=120)

    @property
    def retry_schedule(self) -> tuple[float, ...]:
        from leadhub.platform.retry_schedule import parse_schedule

        return parse_schedule(self.conversation_retry_schedule)
