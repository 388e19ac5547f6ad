"""Settings of the functions that manage outbound webhook endpoints (the management API, the dashboard)."""

from __future__ import annotations

import dataclasses

from leadhub.platform.settings import BaseSettings, setting


@dataclasses.dataclass(frozen=True, kw_only=True)
class WebhookEndpointSettings(BaseSettings):
    # Local development only: lets endpoints point at http://127.0.0.1 (loopback, nothing else private).
    allow_private_webhook_targets: bool = setting("ALLOW_PRIVATE_WEBHOOK_TARGETS", False)
    # How long a rotated-out endpoint secret keeps signing next to the new one.
    webhook_secret_overlap_hours: float = setting("WEBHOOK_SECRET_OVERLAP_HOURS", 24, ge=0, le=24 * 30)
    # Retries and recoveries are queued here.
    delivery_queue_url: str = setting("DELIVERY_QUEUE_URL", min_length=1)
