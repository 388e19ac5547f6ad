"""The website widget's dashboard page in a real browser (Debian's Chromium, Playwright) against the
session's local stack: the real widget.js previews the form's unsaved values under the dashboard's strict
CSP (no console errors, no request but to our own origin, no widget call), saving stores them (GET
/api/widget), the snippet's Copy button puts the API's snippet on the clipboard, the key is rotated after a
confirmation. Also writes the widget page's screenshot."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.e2e.browsing import PLACEHOLDERS_SCRIPT, SCREENSHOTS, Visitor

NewAccount = Callable[..., dict[str, str]]
ORIGIN = "http://127.0.0.1:8123"


def widget_settings(http: httpx.Client, account: dict[str, str]) -> dict:
    answer = http.get("/api/widget", headers={"X-API-Key": account["apiKey"]})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def preview(page: Page, selector: str) -> Locator:
    """Inside the preview's widget (Playwright's CSS locators reach into its open shadow root)."""
    return page.locator(f"#widget-preview {selector}")


def background(locator: Locator) -> str:
    return str(locator.evaluate("element => getComputedStyle(element).backgroundColor"))


def test_the_preview_follows_the_form_before_saving_and_the_saved_snippet_is_copied(
    visitor: Visitor, new_account: NewAccount, http: httpx.Client
) -> None:
    account = new_account("Widget shop")
    visitor.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=visitor.api)
    visitor.sign_in(account["apiKey"])
    visitor.go("/channels")
    page = visitor.page
    page.get_by_role("link", name="Set up the widget").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Website widget")

    # The real widget draws itself in the preview box with the saved (here: default) settings.
    expect(preview(page, "#lh-title")).to_have_text("Chat with us")
    expect(preview(page, ".message.agent > span:last-child")).to_have_text("Hi! How can we help you today?")
    assert background(preview(page, "header")) == "rgb(37, 99, 235)"  # #2563eb
    assert page.locator("[data-preview-fallback]").is_hidden()

    # Every change shows at once, nothing is saved meanwhile.
    page.get_by_label("Title").fill("Ask <b>Acme</b>")
    expect(preview(page, "#lh-title")).to_have_text("Ask <b>Acme</b>")  # text, never markup
    page.get_by_label("Title").fill("Ask Acme")
    expect(preview(page, "#lh-title")).to_have_text("Ask Acme")
    page.get_by_label("Colour", exact=True).fill("#aa3300")
    expect(preview(page, "header")).to_have_css("background-color", "rgb(170, 51, 0)")
    assert background(preview(page, ".launcher")) == "rgb(170, 51, 0)"
    page.get_by_label("Position").select_option("bottom-left")
    expect(preview(page, ".frame")).to_have_class("frame left")
    page.get_by_label("Ask for contact details").select_option("before_chat")
    page.get_by_label("Consent line").fill("We keep your details to answer you.")
    expect(preview(page, ".consent")).to_have_text("We keep your details to answer you.")
    expect(preview(page, "form.composer")).to_be_hidden()  # before the chat: details first
    unsaved = widget_settings(http, account)
    assert (unsaved["title"], unsaved["widgetKey"]) == ("Chat with us", None)

    # Saving: refused without an origin (next to the field, the input kept), then stored.
    page.get_by_label("Show the widget on the allowed sites").check()
    page.get_by_role("button", name="Save the settings").click()
    expect(page.locator("#body-error")).to_have_text("an enabled widget needs at least one allowed origin")
    assert page.get_by_label("Title").input_value() == "Ask Acme"
    expect(preview(page, "#lh-title")).to_have_text("Ask Acme")  # the preview shows the kept input
    page.get_by_label("Allowed origins").fill(ORIGIN)
    page.get_by_role("button", name="Save the settings").click()
    expect(page.get_by_role("status")).to_contain_text("The widget's settings are saved.")
    saved = widget_settings(http, account)
    assert (saved["enabled"], saved["allowedOrigins"], saved["title"]) == (True, [ORIGIN], "Ask Acme")
    assert (saved["colors"]["primary"], saved["position"], saved["capture"]) == (
        "#aa3300",
        "bottom-left",
        "before_chat",
    )
    assert saved["consentText"] == "We keep your details to answer you."

    for width in (1100, 390):  # at phone width the preview sits under the form, within the page
        page.set_viewport_size({"width": width, "height": 800})
        assert page.evaluate("document.documentElement.scrollWidth - innerWidth") <= 0, width
    page.set_viewport_size({"width": 1100, "height": 800})
    page.evaluate(PLACEHOLDERS_SCRIPT)
    page.screenshot(path=SCREENSHOTS / "widget.png", full_page=True)

    # The snippet, as the API gives it, onto the clipboard.
    visitor.go("/channels/widget")
    expect(page.locator("#widget-snippet")).to_have_text(saved["snippet"])
    page.locator("#snippet").get_by_role("button", name="Copy").click()
    expect(page.locator("#snippet button.copy")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == saved["snippet"]

    # The key is rotated after a confirmation; the page shows the new snippet.
    page.get_by_role("link", name="Rotate the key…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rotate the widget's key?")
    page.get_by_role("button", name="Rotate the key").click()
    expect(page.get_by_role("status")).to_contain_text("The widget has a new key")
    rotated = widget_settings(http, account)
    assert rotated["widgetKey"] != saved["widgetKey"]
    expect(page.locator("#widget-snippet")).to_have_text(rotated["snippet"])

    # The preview is a picture: it called none of the widget's endpoints; the CSP refused nothing.
    assert [r.url for r in visitor.requests if "/widget/v1/" in r.url] == []
    assert visitor.dialogs == []
    assert [p for p in visitor.problems() if "status of 400" not in p] == []  # the one refused save
