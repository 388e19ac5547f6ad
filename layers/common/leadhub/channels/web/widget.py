"""A widget: the account's public key and its settings (origins allowed to embed it, on/off, texts,
colours, lead capture, rate limits). The settings' public (camelCase) form is also how they are stored."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

WIDGET_KEY_PREFIX = "lhw"
WIDGET_KEY_SHAPE = re.compile(r"lhw_[A-Za-z0-9_-]{32}")
SCRIPT_PATH = "/widget.js"
LEAD_SOURCE = "website-widget"

# Lead capture: before the chat, after the first reply, after the visitor's N-th message, or never.
CAPTURE_PATTERN = r"^(before_chat|after_first_reply|off|after_messages:([1-9]|[1-4][0-9]|50))$"
COLOR_PATTERN = r"^#[0-9a-fA-F]{6}$"
POSITIONS = ("bottom-right", "bottom-left")
MAX_ORIGINS = 20
MAX_TITLE_CHARS = 60
MAX_GREETING_CHARS = 500
MAX_CONSENT_CHARS = 500
MAX_TEXT_CHARS = 200

# What the widget shows, by key; an account overrides any of them.
DEFAULT_TEXTS: Mapping[str, str] = {
    "launcher": "Chat with us",
    "placeholder": "Type your message…",
    "send": "Send",
    "close": "Close chat",
    "contactPrompt": "Leave your details so we can get back to you.",
    "name": "Name",
    "email": "Email",
    "phone": "Phone",
    "submitContact": "Send details",
    "skipContact": "Not now",
    "thanks": "Thanks! We will be in touch.",
    "offline": "Connection lost; retrying…",
}
DEFAULT_COLORS: Mapping[str, str] = {"primary": "#2563eb", "onPrimary": "#ffffff"}


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Per minute; a request past one of them is answered 429 with Retry-After."""

    messages_per_visitor: int = 10
    messages_per_ip: int = 60
    new_visitors_per_ip: int = 10

    def to_public(self) -> dict[str, int]:
        return {
            "messagesPerVisitorPerMinute": self.messages_per_visitor,
            "messagesPerIpPerMinute": self.messages_per_ip,
            "newVisitorsPerIpPerMinute": self.new_visitors_per_ip,
        }

    @classmethod
    def from_public(cls, values: Mapping[str, Any]) -> RateLimits:
        default = cls()
        return cls(
            int(values.get("messagesPerVisitorPerMinute", default.messages_per_visitor)),
            int(values.get("messagesPerIpPerMinute", default.messages_per_ip)),
            int(values.get("newVisitorsPerIpPerMinute", default.new_visitors_per_ip)),
        )


@dataclass(frozen=True, slots=True)
class WidgetSettings:
    enabled: bool = False
    allowed_origins: tuple[str, ...] = ()
    title: str = "Chat with us"
    greeting: str = "Hi! How can we help you today?"
    colors: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_COLORS))
    position: str = POSITIONS[0]
    capture: str = "after_first_reply"
    consent_text: str = ""
    texts: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_TEXTS))
    rate_limits: RateLimits = field(default_factory=RateLimits)

    @property
    def capture_after_messages(self) -> int | None:
        """N of `after_messages:N`, else None."""
        kind, _, count = self.capture.partition(":")
        return int(count) if kind == "after_messages" else None

    def display(self) -> dict[str, Any]:
        """What the widget needs to draw itself (nothing about origins or limits)."""
        return {
            "title": self.title,
            "greeting": self.greeting,
            "colors": dict(self.colors),
            "position": self.position,
            "capture": self.capture,
            "consentText": self.consent_text,
            "texts": dict(self.texts),
        }

    def to_public(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "allowedOrigins": list(self.allowed_origins),
            **self.display(),
            "rateLimits": self.rate_limits.to_public(),
        }

    @classmethod
    def from_public(cls, values: Mapping[str, Any]) -> WidgetSettings:
        """From validated (API) or stored values; what is absent takes its default."""
        default = cls()
        return cls(
            enabled=bool(values.get("enabled", default.enabled)),
            allowed_origins=tuple(values.get("allowedOrigins") or ()),
            title=str(values.get("title", default.title)),
            greeting=str(values.get("greeting", default.greeting)),
            colors={**DEFAULT_COLORS, **(values.get("colors") or {})},
            position=str(values.get("position", default.position)),
            capture=str(values.get("capture", default.capture)),
            consent_text=str(values.get("consentText", default.consent_text)),
            texts={**DEFAULT_TEXTS, **(values.get("texts") or {})},
            rate_limits=RateLimits.from_public(values.get("rateLimits") or {}),
        )


@dataclass(frozen=True, slots=True)
class Widget:
    account_id: str
    widget_key: str  # public: it is in the customer's page source
    settings: WidgetSettings
    default_region: str  # the account's, for national phone numbers visitors leave
    updated_at: str
    version: int = 1


def snippet(base_url: str, widget_key: str) -> str:
    """The line a customer pastes into their pages."""
    return f'<script src="{base_url}{SCRIPT_PATH}" data-widget-key="{widget_key}" async></script>'
