"""The event fan-out's settings."""

from __future__ import annotations

import dataclasses

from leadhub.platform.settings import BaseSettings, setting, shared_setting


@dataclasses.dataclass(frozen=True, kw_only=True)
class FanoutSettings(BaseSettings):
    delivery_queue_url: str = shared_setting("DELIVERY_QUEUE_URL")
    # Inbound emails whose content is still to be fetched from Resend.
    email_content_queue_url: str = setting("EMAIL_CONTENT_QUEUE_URL", min_length=1)
    conversation_queue_url: str = shared_setting("CONVERSATION_QUEUE_URL")
