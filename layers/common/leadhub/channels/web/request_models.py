"""The widget's settings as the management API (PUT /api/widget) and the dashboard's widget form both
validate them: one spec, the same words in the field errors."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from leadhub.channels.web.origins import normalised_origin
from leadhub.channels.web.widget import (
    CAPTURE_PATTERN,
    COLOR_PATTERN,
    DEFAULT_COLORS,
    DEFAULT_TEXTS,
    MAX_CONSENT_CHARS,
    MAX_GREETING_CHARS,
    MAX_ORIGINS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    RateLimits,
    WidgetSettings,
)
from leadhub.platform.request_models import RequestSchema

_LIMITS = RateLimits()


def _text(key: str, what: str) -> str:
    return Field(DEFAULT_TEXTS[key], min_length=1, max_length=MAX_TEXT_CHARS, description=what)


class WidgetColors(RequestSchema):
    primary: str = Field(
        DEFAULT_COLORS["primary"],
        pattern=COLOR_PATTERN,
        description="Launcher, header and the visitor's bubbles",
    )
    onPrimary: str = Field(
        DEFAULT_COLORS["onPrimary"], pattern=COLOR_PATTERN, description="Text on the primary colour"
    )


class WidgetTexts(RequestSchema):
    """Every text the widget shows besides the title, greeting and consent line."""

    launcher: str = _text("launcher", "The button that opens the chat")
    placeholder: str = _text("placeholder", "The message box's placeholder (and its label)")
    send: str = _text("send", "The send button")
    close: str = _text("close", "The close button's label (for screen readers)")
    contactPrompt: str = _text("contactPrompt", "Above the contact form")
    name: str = _text("name", "The name field's label")
    email: str = _text("email", "The email field's label")
    phone: str = _text("phone", "The phone field's label")
    submitContact: str = _text("submitContact", "The contact form's button")
    skipContact: str = _text("skipContact", "Dismisses the contact form (not with capture before_chat)")
    thanks: str = _text("thanks", "Shown once the details are sent")
    offline: str = _text("offline", "Shown while the widget cannot reach Leadhub")


class WidgetRateLimits(RequestSchema):
    messagesPerVisitorPerMinute: int = Field(
        _LIMITS.messages_per_visitor, ge=1, le=600, description="Messages (and contact forms) per visitor"
    )
    messagesPerIpPerMinute: int = Field(
        _LIMITS.messages_per_ip, ge=1, le=100_000, description="Messages (and contact forms) per IP address"
    )
    newVisitorsPerIpPerMinute: int = Field(
        _LIMITS.new_visitors_per_ip, ge=1, le=100_000, description="New visitors per IP address"
    )


class WidgetSettingsRequest(RequestSchema):
    """The whole settings: what a PUT leaves out takes its default."""

    enabled: bool = Field(False, description="Off: the widget shows nothing and its endpoints answer 403")
    allowedOrigins: list[str] = Field(
        default_factory=list,
        max_length=MAX_ORIGINS,
        description="Origins (scheme://host[:port]) whose pages may embed the widget; every other is refused",
    )
    title: str = Field(
        "Chat with us", min_length=1, max_length=MAX_TITLE_CHARS, description="The panel's title"
    )
    greeting: str = Field(
        WidgetSettings().greeting,
        max_length=MAX_GREETING_CHARS,
        description="The first message the panel shows (not stored); empty: none",
    )
    colors: WidgetColors = Field(default_factory=WidgetColors)
    position: Literal["bottom-right", "bottom-left"] = Field("bottom-right", description="Corner of the page")
    capture: str = Field(
        "after_first_reply",
        pattern=CAPTURE_PATTERN,
        description="When the widget asks for name, email and/or phone: before_chat (no message before it), "
        "after_first_reply, after_messages:N (after the visitor's N-th message, 1-50) or off",
    )
    consentText: str = Field(
        "", max_length=MAX_CONSENT_CHARS, description="Shown under the contact form; kept on the lead"
    )
    texts: WidgetTexts = Field(default_factory=WidgetTexts)
    rateLimits: WidgetRateLimits = Field(
        default_factory=WidgetRateLimits, description="Per minute; past one: 429"
    )

    @field_validator("allowedOrigins")
    @classmethod
    def _origins(cls, values: list[str]) -> list[str]:
        normalised = []
        for index, value in enumerate(values):
            try:
                normalised.append(normalised_origin(value))
            except ValueError as exc:
                raise ValueError(f"allowedOrigins[{index}]: {exc}") from None
        return list(dict.fromkeys(normalised))

    @model_validator(mode="after")
    def _enabled_somewhere(self) -> WidgetSettingsRequest:
        if self.enabled and not self.allowedOrigins:
            raise ValueError("an enabled widget needs at least one allowed origin")
        return self

    def to_settings(self) -> WidgetSettings:
        return WidgetSettings.from_public(self.model_dump())
