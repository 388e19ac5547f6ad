"""The website widget's dashboard page without a server: the form makes the body PUT /api/widget takes and
is validated by its request model (any posted form: settings or a 400, never anything else), saved settings
come back unchanged through the form, the API's field errors land next to the form's fields; the pages
escape what was typed, stay small, and load only our own scripts (the widget's own, for the preview)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadhub.channels.web.request_models import WidgetSettingsRequest
from leadhub.channels.web.widget import RateLimits, Widget, WidgetSettings
from leadhub.dashboard.assets import asset_url
from leadhub.dashboard.http import Form, validated
from leadhub.dashboard.navigation import CHANNELS
from leadhub.dashboard.rendering import render
from leadhub.dashboard.widget import (
    CAPTURE_CHOICES,
    FORM_FIELDS,
    FORM_LEVEL,
    POSITION_LABELS,
    WidgetForm,
    form_errors,
    widget_page,
)
from leadhub.platform.errors import FieldError, InvalidRequest
from tests.unit.test_dashboard_pages import MAX_HTML_BYTES, SCRIPT, visit

AT = "2026-11-23T09:00:00.000Z"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
FORM_NAMES = (
    "enabled",
    "allowedOrigins",
    "title",
    "greeting",
    "primaryColor",
    "onPrimaryColor",
    "position",
    "capture",
    "captureMessages",
    "consentText",
)


def through_the_form(settings: WidgetSettings, form: WidgetForm | None = None) -> WidgetSettings:
    body = (form or WidgetForm.of(settings)).request_body(settings)
    return validated(WidgetSettingsRequest, body).to_settings()


@pytest.mark.parametrize(
    "settings",
    [
        WidgetSettings(),
        WidgetSettings(
            enabled=True,
            allowed_origins=("https://shop.example", "http://127.0.0.1:8123"),
            title="Ask Acme",
            greeting="",
            colors={"primary": "#AA3300", "onPrimary": "#000000"},
            position="bottom-left",
            capture="after_messages:7",
            consent_text="We keep your details to answer you.",
            texts={**WidgetSettings().texts, "launcher": "Questions?"},
            rate_limits=RateLimits(3, 30, 5),
        ),
        WidgetSettings(capture="off"),
        WidgetSettings(capture="before_chat"),
    ],
)
def test_saved_settings_come_back_unchanged_through_the_form(settings: WidgetSettings) -> None:
    assert through_the_form(settings) == settings


def test_the_posted_form_is_read_as_the_api_body() -> None:
    posted = Form(
        {
            "enabled": ["true"],
            "allowedOrigins": ["https://a.example\r\n\r\n https://b.example, https://c.example "],
            "capture": ["after_messages"],
            "captureMessages": [" 4 "],
            "title": ["Hi"],
        }
    )
    form = WidgetForm.posted(posted.get)
    body = form.request_body(WidgetSettings(rate_limits=RateLimits(1, 2, 3)))
    assert body["enabled"] is True
    assert body["allowedOrigins"] == ["https://a.example", "https://b.example", "https://c.example"]
    assert body["capture"] == "after_messages:4"
    assert body["rateLimits"] == {
        "messagesPerVisitorPerMinute": 1,
        "messagesPerIpPerMinute": 2,
        "newVisitorsPerIpPerMinute": 3,
    }
    assert WidgetForm.posted(Form({}).get).enabled is False  # an unticked box is not sent


@given(st.dictionaries(st.sampled_from(FORM_NAMES), st.text(max_size=80)))
def test_any_posted_form_is_settings_or_errors_next_to_fields(fields: dict[str, str]) -> None:
    form = WidgetForm.posted(Form({name: [value] for name, value in fields.items()}).get)
    try:
        settings = through_the_form(WidgetSettings(), form)
    except InvalidRequest as invalid:
        errors = form_errors(invalid.details)
        assert errors and set(errors) <= FORM_FIELDS | {"primaryColor", "onPrimaryColor", FORM_LEVEL}
    else:
        assert settings.title == fields.get("title", "").strip()


def test_the_apis_field_errors_are_shown_by_the_form_field_they_concern() -> None:
    details = [
        FieldError("allowedOrigins", "allowedOrigins[1]: not an origin"),
        FieldError("allowedOrigins.3", "Input should be a valid string"),
        FieldError("colors.primary", "String should match pattern '^#[0-9a-fA-F]{6}$'"),
        FieldError("colors.onPrimary", "String should match pattern '^#[0-9a-fA-F]{6}$'"),
        FieldError("body", "an enabled widget needs at least one allowed origin"),
        FieldError("texts.launcher", "String should have at least 1 character"),
    ]
    assert form_errors(details) == {
        "allowedOrigins": "allowedOrigins[1]: not an origin; Input should be a valid string",
        "primaryColor": "String should match pattern '^#[0-9a-fA-F]{6}$'",
        "onPrimaryColor": "String should match pattern '^#[0-9a-fA-F]{6}$'",
        "body": "an enabled widget needs at least one allowed origin; "
        "texts.launcher: String should have at least 1 character",
    }


def saved_widget(text: str) -> Widget:
    settings = WidgetSettings(
        enabled=True,
        allowed_origins=(text,),
        title=text,
        greeting=text,
        consent_text=text,
        texts={**WidgetSettings().texts, "launcher": text},
    )
    return Widget("acc_1", "lhw_" + "k" * 32, settings, "GB", AT)


def widget_pages(text: str) -> dict[str, str]:
    signed_in = {"visit": visit(section=CHANNELS)}
    choices = {"captures": CAPTURE_CHOICES, "positions": POSITION_LABELS}
    refused = WidgetForm.posted(Form({name: [text] for name in FORM_NAMES}).get)
    errors = {name: text for name in (*FORM_FIELDS, "primaryColor", "onPrimaryColor", FORM_LEVEL)}
    return {
        "widget": render(
            "widget.html",
            title="Website widget",
            view=widget_page(saved_widget(text), "https://api.example.com", refused),
            errors=errors,
            notice=text,
            **choices,
            **signed_in,
        ),
        "widget-new": render(
            "widget.html",
            title="Website widget",
            view=widget_page(None, "https://api.example.com"),
            errors={},
            notice=None,
            **choices,
            **signed_in,
        ),
        "widget-rotate": render("widget_rotate.html", title="Rotate", widget=saved_widget(text), **signed_in),
        "widget-rotate-none": render("widget_rotate.html", title="Rotate", widget=None, **signed_in),
    }


def test_what_was_typed_is_shown_as_text() -> None:
    page = widget_pages(SCRIPT)["widget"]
    assert "<script>alert" not in page
    # In the fields, the errors, the notice, the snippet's origins and the preview's texts.
    assert page.count(ESCAPED) >= 10
    assert "&#34;launcher&#34;: &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34;" in page


@pytest.mark.parametrize(("name", "html"), sorted(widget_pages("Zapier production key").items()))
def test_the_widget_pages_stay_small_and_load_only_our_own_scripts(name: str, html: str) -> None:
    assert len(html.encode()) <= MAX_HTML_BYTES
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=|javascript:", html, re.IGNORECASE)
    assert not re.search(r"(src|href|action)=\"(https?:)?//", html)  # no other origin
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.DOTALL)
    ours = [(f' src="{asset_url("app.js")}" defer', "")]
    if name.startswith("widget-rotate"):
        assert scripts == ours
    else:  # the widget's own script, from this origin, drawing the preview; then what feeds it the form
        preview = [(' src="/widget.js" data-preview="widget-preview" defer', "")]
        assert scripts == [*ours, *preview, (f' src="{asset_url("widget_preview.js")}" defer', "")]
        assert 'id="widget-preview"' in html


def test_the_page_shows_the_snippet_once_the_widget_has_a_key() -> None:
    pages = widget_pages("x")
    snippet = (
        "&lt;script src=&#34;https://api.example.com/widget.js&#34; "
        f"data-widget-key=&#34;lhw_{'k' * 32}&#34; async&gt;&lt;/script&gt;"
    )
    assert snippet in pages["widget"] and 'data-copy="widget-snippet"' in pages["widget"]
    assert (
        "widget-snippet" not in pages["widget-new"] and "Save the settings below once" in pages["widget-new"]
    )
    assert 'action="/channels/widget/rotate-key"' in pages["widget-rotate"]
    assert "rotate-key" not in pages["widget-rotate-none"]
