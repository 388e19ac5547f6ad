"""The website widget's page (/channels/widget): the settings form (as saved, or as posted when refused),
the body PUT /api/widget would get from it (validated by the API's own request model), the refusals next
to their fields, and the snippet to paste."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from leadhub.channels.web.widget import POSITIONS, SCRIPT_PATH, Widget, WidgetSettings, snippet
from leadhub.platform.errors import FieldError

# The capture choices of the form; `after_messages` takes its N from the field next to it.
CAPTURE_CHOICES = {
    "before_chat": "Before the chat",
    "after_first_reply": "After the first reply",
    "after_messages": "After the visitor's Nth message",
    "off": "Never",
}
POSITION_LABELS = {position: position.replace("-", " ").capitalize() for position in POSITIONS}
AFTER_MESSAGES = "after_messages"
DEFAULT_AFTER_MESSAGES = "3"
# The form field next to which an error about an API field is shown: the API's name but for the colours.
FORM_FIELD_OF = {"colors.primary": "primaryColor", "colors.onPrimary": "onPrimaryColor"}
FORM_FIELDS = {"enabled", "allowedOrigins", "title", "greeting", "position", "capture", "consentText"}
FORM_LEVEL = "body"  # an error about the settings as a whole, or about a field the form does not show
_ORIGIN_SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True, slots=True)
class WidgetForm:
    """The form's fields as text, as the page shows them."""

    enabled: bool
    allowed_origins: str  # one a line
    title: str
    greeting: str
    primary_color: str
    on_primary_color: str
    position: str
    capture: str  # a CAPTURE_CHOICES key (or what was posted)
    capture_messages: str  # N of after_messages
    consent_text: str

    @classmethod
    def of(cls, settings: WidgetSettings) -> WidgetForm:
        after = settings.capture_after_messages
        return cls(
            enabled=settings.enabled,
            allowed_origins="\n".join(settings.allowed_origins),
            title=settings.title,
            greeting=settings.greeting,
            primary_color=settings.colors["primary"],
            on_primary_color=settings.colors["onPrimary"],
            position=settings.position,
            capture=AFTER_MESSAGES if after is not None else settings.capture,
            capture_messages=str(after) if after is not None else DEFAULT_AFTER_MESSAGES,
            consent_text=settings.consent_text,
        )

    @classmethod
    def posted(cls, field: Callable[[str], str]) -> WidgetForm:
        """From the posted form's fields (`field(name)`: its value, "" when absent)."""
        return cls(
            enabled=field("enabled") == "true",
            allowed_origins=field("allowedOrigins"),
            title=field("title"),
            greeting=field("greeting"),
            primary_color=field("primaryColor"),
            on_primary_color=field("onPrimaryColor"),
            position=field("position"),
            capture=field("capture"),
            capture_messages=field("captureMessages").strip(),
            consent_text=field("consentText"),
        )

    def request_body(self, kept: WidgetSettings) -> dict[str, Any]:
        """The body of PUT /api/widget these fields make; what the form does not edit (the widget's other
        texts, its rate limits) is `kept` as saved."""
        capture = self.capture
        if capture == AFTER_MESSAGES:
            capture = f"{AFTER_MESSAGES}:{self.capture_messages}"
        return {
            "enabled": self.enabled,
            "allowedOrigins": [o for o in _ORIGIN_SEPARATORS.split(self.allowed_origins) if o],
            "title": self.title,
            "greeting": self.greeting,
            "colors": {"primary": self.primary_color, "onPrimary": self.on_primary_color},
            "position": self.position,
            "capture": capture,
            "consentText": self.consent_text,
            "texts": dict(kept.texts),
            "rateLimits": kept.rate_limits.to_public(),
        }


def form_errors(details: Sequence[FieldError]) -> dict[str, str]:
    """The API's field errors by the form field they concern, in the API's words; the settings' own (the
    API's `body`) and any about a field the form does not show are the form's."""
    errors: dict[str, list[str]] = {}
    for detail in details:
        name = FORM_FIELD_OF.get(detail.field) or detail.field.partition(".")[0]
        message = detail.message
        if name not in FORM_FIELDS and detail.field not in FORM_FIELD_OF:
            if name != FORM_LEVEL:
                message = f"{detail.field}: {message}"
            name = FORM_LEVEL
        errors.setdefault(name, []).append(message)
    return {name: "; ".join(messages) for name, messages in errors.items()}


@dataclass(frozen=True, slots=True)
class WidgetPage:
    widget: Widget | None  # None until the first save
    form: WidgetForm
    script_url: str
    snippet: str | None
    texts_json: str  # the widget's other texts, for the live preview (not edited here)


def widget_page(widget: Widget | None, base_url: str, form: WidgetForm | None = None) -> WidgetPage:
    """The page for the saved `widget`, with the `form` as posted when it was refused."""
    settings = widget.settings if widget else WidgetSettings()
    return WidgetPage(
        widget=widget,
        form=form or WidgetForm.of(settings),
        script_url=base_url + SCRIPT_PATH,
        snippet=snippet(base_url, widget.widget_key) if widget else None,
        texts_json=json.dumps(dict(settings.texts), ensure_ascii=False),
    )
