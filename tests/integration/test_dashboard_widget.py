"""The website widget's dashboard page (/channels/widget) through the dashboard handler and its storage in
moto: settings saved with the API's own rules (what GET /api/widget then shows, audit entries with source
"dashboard"), refusals next to their fields with the input kept, the snippet the API hands out, key
rotation after a confirmation; CSRF and the integrations:manage scope."""

from __future__ import annotations

import html
import re
from types import ModuleType

import pytest

from tests.integration.conftest import Account, Api, Stack
from tests.integration.test_dashboard import Answer, Browser, nav_links
from tests.integration.test_dashboard_channels import audit_sources, field_error

PATH = "/channels/widget"
SCRIPT = "<script>alert(1)</script>"
SETTINGS = {
    "enabled": "true",
    "allowedOrigins": "HTTPS://Shop.Example:443/\nhttp://127.0.0.1:8123",
    "title": "Ask Acme",
    "greeting": "Hello there",
    "primaryColor": "#aa3300",
    "onPrimaryColor": "#fffff0",
    "position": "bottom-left",
    "capture": "after_messages",
    "captureMessages": "5",
    "consentText": "We keep your details to answer you.",
}


@pytest.fixture
def dashboard(api: Api, stack: Stack) -> ModuleType:
    return stack.load_function("DashboardFunction")


@pytest.fixture
def browser(dashboard: ModuleType, account: Account) -> Browser:
    signed_in = Browser(dashboard)
    assert signed_in.sign_in(account.api_key).status == 303
    return signed_in


def save(browser: Browser, form: dict[str, str], path: str = PATH) -> Answer:
    return browser.request("POST", path, {**form, "csrf": browser.csrf(PATH)})


def through_api(api: Api, account: Account) -> dict:
    answer = api.call("GET", "/api/widget", api_key=account.api_key)
    assert answer.status == 200
    return answer.body


def shown_snippet(page: str) -> str:
    found = re.search(r'<pre id="widget-snippet"[^>]*><code>(.*?)</code></pre>', page, re.S)
    assert found, "no snippet on the page"
    return html.unescape(found.group(1))


def test_saving_the_form_stores_what_the_api_shows_and_the_page_gives_the_apis_snippet(
    browser: Browser, api: Api, account: Account, stack: Stack
) -> None:
    first = browser.request("GET", PATH)
    assert first.status == 200 and "Save the settings below once" in first.text
    assert 'id="widget-snippet"' not in first.text
    # Texts the form does not edit, set through the API, are kept by a save from the dashboard.
    texts = {"launcher": "Questions?", "send": "Go"}
    put = api.call("PUT", "/api/widget", api_key=account.api_key, json_body={"texts": texts})
    assert put.status == 200

    answer = save(browser, SETTINGS)

    assert (answer.status, answer.headers["location"]) == (303, f"{PATH}?done=saved")
    widget = through_api(api, account)
    assert widget["allowedOrigins"] == ["https://shop.example", "http://127.0.0.1:8123"]
    assert (widget["enabled"], widget["title"], widget["greeting"]) == (True, "Ask Acme", "Hello there")
    assert widget["colors"] == {"primary": "#aa3300", "onPrimary": "#fffff0"}
    assert (widget["position"], widget["capture"]) == ("bottom-left", "after_messages:5")
    assert widget["consentText"] == "We keep your details to answer you."
    assert (widget["texts"]["launcher"], widget["texts"]["send"]) == ("Questions?", "Go")
    page = browser.request("GET", answer.headers["location"]).text
    assert "The widget&#39;s settings are saved." in page
    assert shown_snippet(page) == widget["snippet"]  # one snippet, from one function
    assert 'value="Ask Acme"' in page and '<option value="after_messages" selected>' in page
    assert audit_sources(stack, "widget.updated") == ["api", "dashboard"]


def test_refusals_appear_next_to_their_fields_in_the_apis_words_and_the_input_is_kept(
    browser: Browser, api: Api, account: Account, stack: Stack
) -> None:
    refused = save(
        browser,
        {
            **SETTINGS,
            "allowedOrigins": "https://shop.example/pricing",
            "title": SCRIPT,
            "primaryColor": "blue",
            "capture": "after_messages",
            "captureMessages": "99",
        },
    )

    assert refused.status == 400
    assert field_error(refused.text, "allowedOrigins").startswith("allowedOrigins[0]: ")
    assert field_error(refused.text, "primaryColor") == "String should match pattern '^#[0-9a-fA-F]{6}$'"
    assert "String should match pattern" in field_error(refused.text, "capture")
    assert 'id="allowedOrigins"' in refused.text and "https://shop.example/pricing</textarea>" in refused.text
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in refused.text and SCRIPT not in refused.text
    assert 'value="99"' in refused.text
    assert stack.entities("widget") == []  # nothing half-saved

    on_for_nowhere = save(browser, {**SETTINGS, "allowedOrigins": ""})
    assert on_for_nowhere.status == 400
    body_error = re.search(r'id="body-error">(.*?)</p>', on_for_nowhere.text, re.S)
    assert body_error and body_error.group(1) == "an enabled widget needs at least one allowed origin"
    assert through_api(api, account)["widgetKey"] is None


def test_rotating_the_key_asks_first_and_the_page_shows_the_new_snippet(
    browser: Browser, api: Api, account: Account, stack: Stack
) -> None:
    assert browser.request("GET", f"{PATH}/rotate-key").text.count("save its settings") == 1
    assert save(browser, {}, f"{PATH}/rotate-key").status == 404  # nothing to rotate yet
    assert save(browser, SETTINGS).status == 303
    old_key = through_api(api, account)["widgetKey"]
    confirm = browser.request("GET", f"{PATH}/rotate-key")
    assert confirm.status == 200 and 'action="/channels/widget/rotate-key"' in confirm.text

    rotated = save(browser, {}, f"{PATH}/rotate-key")

    assert (rotated.status, rotated.headers["location"]) == (303, f"{PATH}?done=rotated#snippet")
    widget = through_api(api, account)
    assert widget["widgetKey"] != old_key
    page = browser.request("GET", f"{PATH}?done=rotated").text
    assert shown_snippet(page) == widget["snippet"] and old_key not in page
    assert "update the snippet on your pages" in page
    assert audit_sources(stack, "widget.key_rotated") == ["dashboard"]


def test_the_channels_page_says_whether_the_widget_is_on_and_links_to_it(
    browser: Browser, api: Api, account: Account
) -> None:
    assert "Set up the widget" in browser.request("GET", "/channels").text
    assert save(browser, SETTINGS).status == 303
    channels = browser.request("GET", "/channels").text
    assert 'href="/channels/widget">Settings, snippet and preview' in channels
    assert "On</span> for https://shop.example, http://127.0.0.1:8123" in channels


def test_a_change_without_its_csrf_token_or_from_another_site_is_refused(
    browser: Browser, api: Api, account: Account
) -> None:
    csrf = browser.csrf(PATH)
    assert browser.request("POST", PATH, SETTINGS).status == 403
    assert browser.request("POST", PATH, {**SETTINGS, "csrf": "0" * 64}).status == 403
    cross_site = {"origin": "https://evil.example", "sec-fetch-site": "cross-site"}
    assert browser.request("POST", PATH, {**SETTINGS, "csrf": csrf}, cross_site).status == 403
    assert through_api(api, account)["widgetKey"] is None
    assert save(browser, SETTINGS).status == 303
    key = through_api(api, account)["widgetKey"]
    assert browser.request("POST", f"{PATH}/rotate-key", {}).status == 403
    assert through_api(api, account)["widgetKey"] == key


def test_a_session_without_integrations_manage_neither_sees_nor_changes_the_widget(
    dashboard: ModuleType, api: Api, account: Account
) -> None:
    reader_key = api.call(
        "POST",
        "/api/api-keys",
        api_key=account.api_key,
        json_body={"name": "reader", "scopes": ["leads:read", "account:view"]},
    ).body["apiKey"]
    reader = Browser(dashboard)
    assert reader.sign_in(reader_key).status == 303
    overview = reader.request("GET", "/")
    assert "/channels" not in nav_links(overview.text)

    shown = reader.request("GET", PATH)
    assert shown.status == 403 and "integrations:manage" in html.unescape(shown.text)
    assert reader.request("GET", f"{PATH}/rotate-key").status == 403
    csrf = reader.csrf("/")  # the sign-out form's token: the session's own
    assert reader.request("POST", PATH, {**SETTINGS, "csrf": csrf}).status == 403
    assert through_api(api, account)["widgetKey"] is None
