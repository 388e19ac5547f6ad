"""The website chat widget's settings (GET|PUT /api/widget)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from leadhub.channels.web.request_models import WidgetSettingsRequest as WidgetSettingsRequest
from schemas import Schema


class WidgetColorsOut(BaseModel):
    primary: str
    onPrimary: str


class WidgetOut(Schema):
    enabled: bool
    allowedOrigins: list[str]
    title: str
    greeting: str
    colors: WidgetColorsOut
    position: str
    capture: str
    consentText: str
    texts: dict[str, str]
    rateLimits: dict[str, int]
    widgetKey: str | None = Field(description="Public (it is in your pages); null until the first PUT")
    scriptUrl: str
    snippet: str | None = Field(
        description="Paste it into every page that shows the widget; null until the first PUT"
    )
    updatedAt: str | None
