"""The delivery worker's settings."""

from __future__ import annotations

import dataclasses

from leadhub.platform.settings import BaseSettings, schedule_check, setting, shared_setting


@dataclasses.dataclass(frozen=True, kw_only=True)
class DeliveryWorkerSettings(BaseSettings):
    kms_key_id: str = shared_setting("KMS_KEY_ID")
    delivery_queue_url: str = shared_setting("DELIVERY_QUEUE_URL")
    # Total time one POST may take (connect, send, answer); the function's timeout must exceed it.
    delivery_timeout_seconds: float = setting("DELIVERY_TIMEOUT_SECONDS", 15, gt=0, le=300)
    # Delay before each attempt; the DeliveryQueue's maxReceiveCount must equal the number of entries.
    delivery_retry_schedule: str = setting(
        "DELIVERY_RETRY_SCHEDULE", "0s,5s,5m,30m,2h,5h,10h,10h", check=schedule_check
    )
    # The DeliveryQueue's maxReceiveCount as the template sets it; when given it must match the schedule.
    delivery_max_attempts: int | None = setting("DELIVERY_MAX_ATTEMPTS", None, ge=1)
    delivery_retry_jitter: float = setting("DELIVERY_RETRY_JITTER", 0.2, ge=0, lt=1)
    # An endpoint whose deliveries keep exhausting every attempt for this long is disabled.
    endpoint_auto_disable_hours: float = setting("ENDPOINT_AUTO_DISABLE_HOURS", 72, gt=0)
    allow_private_webhook_targets: bool = shared_setting("ALLOW_PRIVATE_WEBHOOK_TARGETS")

    def problems(self) -> list[str]:
        attempts = len(self.retry_schedule)
        if self.delivery_max_attempts is not None and self.delivery_max_attempts != attempts:
            # A mismatch gives up early or retries more often than configured: refuse to start.
            return [
                f"DELIVERY_MAX_ATTEMPTS: must equal the number of entries of DELIVERY_RETRY_SCHEDULE "
                f"({attempts}): it is the delivery queue's maxReceiveCount"
            ]
        return []

    @property
    def retry_schedule(self) -> tuple[float, ...]:
        from leadhub.platform.retry_schedule import parse_schedule

        return parse_schedule(self.delivery_retry_schedule)
