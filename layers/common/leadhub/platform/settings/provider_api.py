"""Settings of the functions that call every provider's API."""

from __future__ import annotations

import dataclasses

from leadhub.platform.settings import setting
from leadhub.platform.settings.email_content import EmailContentSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProviderApiSettings(EmailContentSettings):
    """Every provider API. Base URLs are settings so that tests and the local stack use loopback fakes."""

    graph_api_base_url: str = setting("GRAPH_API_BASE_URL", "https://graph.facebook.com/v23.0", min_length=1)
    telegram_api_base_url: str = setting("TELEGRAM_API_BASE_URL", "https://api.telegram.org", min_length=1)
