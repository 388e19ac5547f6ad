"""The widget function's settings (GET /widget.js and the widget's public endpoints)."""

from __future__ import annotations

import dataclasses

from leadhub.platform.settings import BaseSettings, setting


@dataclasses.dataclass(frozen=True, kw_only=True)
class WidgetFunctionSettings(BaseSettings):
    # SSM SecureString holding the key that signs visitor and page tokens (HMAC-SHA256).
    widget_secret_parameter: str = setting("WIDGET_SECRET_PARAMETER", min_length=1)
    # How long a warm environment reuses a widget key → settings lookup: a settings change, a rotated key
    # or a widget turned off takes effect within it.
    widget_cache_seconds: int = setting("WIDGET_CACHE_SECONDS", 30, ge=0, le=300)
