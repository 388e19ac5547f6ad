"""The email content worker's settings (Resend's API)."""

from __future__ import annotations

import dataclasses

from leadhub.platform.settings import BaseSettings, setting


@dataclasses.dataclass(frozen=True, kw_only=True)
class EmailContentSettings(BaseSettings):
    """Resend's API; its key is a deployment secret in SSM."""

    resend_api_base_url: str = setting("RESEND_API_BASE_URL", "https://api.resend.com", min_length=1)
    resend_api_key_parameter: str = setting("RESEND_API_KEY_PARAMETER", min_length=1)
