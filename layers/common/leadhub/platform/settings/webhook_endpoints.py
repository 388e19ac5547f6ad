"""Settings of the functions that manage outbound webhook endpoints (the management API, the dashboard)."""

from __future__ import annotations

import dataclasses

from leadhub.platform.settings import BaseSettings, setting, shared_setting


@dataclasses.dataclass(frozen=True, kw_only=True)
class WebhookEndpointSettings(BaseSettings):
    allow_private_webhook_targets: bool = shared_setting("ALLOW_PRIVATE_WEBHOOK_TARGETS")
    # How long a rotated-out endpoint secret keeps signing next to the new one.
    webhook_secret_overlap_hours: float = setting("WEBHOOK_SECRET_OVERLAP_HOURS", 24, ge=0, le=24 * 30)
    delivery_queue_url: str = shared_setting("DELIVERY_QUEUE_URL")
