"""The event fan-out's settings."""

from __future__ import annotations

import dataclasses

from leadhub.platform.settings import BaseSettings, setting


@dataclasses.dataclass(frozen=True, kw_only=True)
class FanoutSettings(BaseSettings):
    delivery_queue_url: str = setting("DELIVERY_QUEUE_URL", min_length=1)
    # Inbound emails whose content is still to be fetched from Resend.
    email_content_queue_url: str = setting("EMAIL_CONTENT_QUEUE_URL", min_length=1)
    # Inbound messages to answer (FIFO, one group per conversation).
    conversation_queue_url: str = setting("CONVERSATION_QUEUE_URL", min_length=1)
