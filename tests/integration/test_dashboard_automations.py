"""The automations page through the dashboard handler and its storage in moto: creating, editing, turning
off, ordering and deleting automations and saving the responder with the domain functions the API uses
(what the API then lists, audit entries with source "dashboard"), the domain's refusals next to their
field, and the time a change takes to reach automatic replies."""

from __future__ import annotations

import html
import re
from types import ModuleType

import pytest

from tests.integration.conftest import Account, Api, Stack
from tests.integration.test_dashboard import Answer, Browser

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def dashboard(api: Api, stack: Stack) -> ModuleType:
    return stack.load_function("DashboardFunction", AUTOMATION_CACHE_SECONDS="45")


@pytest.fixture
def browser(dashboard: ModuleType, account: Account) -> Browser:
    signed_in = Browser(dashboard)
    assert signed_in.sign_in(account.api_key).status == 303
    return signed_in


def post(browser: Browser, path: str, form: dict[str, object]) -> Answer:
    return browser.request("POST", path, {**form, "csrf": browser.csrf("/automations")})


def field_error(page: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', page, re.S)
    assert found, f"no error next to {field}"
    return html.unescape(found.group(1))


def listed(api: Api, account: Account) -> list[dict[str, object]]:
    return api.call("GET", "/api/automations", api_key=account.api_key).body["items"]


def keyword(match: str, reply: str, enabled: bool = True) -> dict[str, object]:
    form: dict[str, object] = {"kind": "keyword", "match": match, "reply": reply}
    return {**form, "enabled": "true"} if enabled else form


def test_a_keyword_automation_is_created_and_listed_with_its_text_escaped(
    browser: Browser, api: Api, account: Account, stack: Stack
) -> None:
    page = browser.request("GET", "/automations")
    assert page.status == 200 and "Changes take effect within 45 seconds." in page.text
    assert browser.request("GET", "/automations/new").status == 200

    created = post(browser, "/automations", keyword("price", SCRIPT))

    assert created.status == 303 and created.headers["location"].startswith("/automations?done=created#aut_")
    [automation] = listed(api, account)
    assert (automation["kind"], automation["match"], automation["reply"]) == ("keyword", "price", SCRIPT)
    shown = browser.request("GET", "/automations?done=created").text
    assert "The automation was added." in shown and SCRIPT not in shown and html.escape(SCRIPT) in shown
    audit = [i for i in stack.entities("audit") if i["action"]["S"] == "automation.created"]
    assert [i["source"]["S"] for i in audit] == ["dashboard"]


def test_the_domains_refusals_appear_next_to_their_field_with_what_was_typed(browser: Browser) -> None:
    no_match = post(browser, "/automations", keyword("", "Hi"))
    assert no_match.status == 400 and field_error(no_match.text, "match") == "a keyword needs a match"
    bad_pattern = post(browser, "/automations", {"kind": "pattern", "match": "(", "reply": SCRIPT})
    assert field_error(bad_pattern.text, "match").startswith("not a regular expression")
    assert html.escape(SCRIPT, quote=False) in bad_pattern.text and SCRIPT not in bad_pattern.text
    greeting_with_match = post(browser, "/automations", {"kind": "greeting", "match": "x", "reply": "Hi"})
    assert field_error(greeting_with_match.text, "match") == "a greeting matches no text"
    no_reply = post(browser, "/automations", {"kind": "greeting", "reply": "  "})
    assert field_error(no_reply.text, "reply") == "String should have at least 1 character"
    hours = {"kind": "out_of_hours", "reply": "Closed", "timezone": "Mars/Olympus", "opens": "9am"}
    bad_hours = post(browser, "/automations", {**hours, "closes": "18:00", "days": ["mon"]})
    assert field_error(bad_hours.text, "timezone").startswith("not an IANA time zone")
    assert field_error(bad_hours.text, "opens") == "a time of day as HH:MM (00:00-23:59)"
    assert post(browser, "/automations", {"kind": "sometimes", "reply": "x"}).status == 400


def test_an_out_of_hours_automation_with_its_time_zone_and_days_once_per_account(
    browser: Browser, api: Api, account: Account
) -> None:
    form = {
        "kind": "out_of_hours",
        "reply": "We are closed",
        "enabled": "true",
        "timezone": "Europe/Berlin",
        "days": ["mon", "tue", "sat"],
        "opens": "09:00",
        "closes": "18:00",
    }
    new_form = browser.request("GET", "/automations/new").text
    assert "<option>Europe/Berlin</option>" in new_form and '<optgroup label="America">' in new_form

    assert post(browser, "/automations", form).status == 303

    [automation] = listed(api, account)
    assert automation["hours"] == {
        "timezone": "Europe/Berlin",
        "days": ["mon", "tue", "sat"],
        "opens": "09:00",
        "closes": "18:00",
    }
    second = post(browser, "/automations", form)
    assert second.status == 409 and "out-of-hours automation already" in field_error(second.text, "kind")
    edit = browser.request("GET", f"/automations/{automation['automationId']}").text
    assert "<option selected>Europe/Berlin</option>" in edit and 'value="sat" checked' in edit


def test_editing_turning_off_and_deleting(browser: Browser, api: Api, account: Account, stack: Stack) -> None:
    post(browser, "/automations", keyword("price", "From 900 a month"))
    [automation] = listed(api, account)
    path = f"/automations/{automation['automationId']}"
    assert 'value="price"' in browser.request("GET", path).text

    refused = post(browser, path, {"match": "", "reply": "x", "enabled": "true"})
    assert refused.status == 400 and field_error(refused.text, "match") == "a keyword needs a match"
    saved = post(browser, path, {"match": "rent", "reply": "From 950 a month", "enabled": "true"})
    assert saved.status == 303
    assert [(a["match"], a["reply"], a["enabled"]) for a in listed(api, account)] == [
        ("rent", "From 950 a month", True)
    ]
    assert post(browser, f"{path}/enabled", {"enabled": "false"}).status == 303
    assert listed(api, account)[0]["enabled"] is False
    assert ">Turn on</button>" in browser.request("GET", "/automations").text

    confirm = browser.request("GET", f"{path}/delete")
    assert confirm.status == 200 and "From 950 a month" in confirm.text
    assert post(browser, f"{path}/delete", {}).headers["location"] == "/automations?done=deleted"
    assert listed(api, account) == []
    assert browser.request("GET", path).status == 404
    actions = [i["action"]["S"] for i in stack.entities("audit") if i["source"]["S"] == "dashboard"]
    assert actions.count("automation.updated") == 2 and "automation.deleted" in actions


def test_moving_up_and_down_within_a_group_changes_the_order_the_api_lists(
    browser: Browser, api: Api, account: Account
) -> None:
    for form in (
        {"kind": "greeting", "reply": "Welcome!", "enabled": "true"},
        keyword("price", "A"),
        keyword("rent", "B"),
        keyword("viewing", "C"),
    ):
        assert post(browser, "/automations", form).status == 303
    ids = {a["match"] or a["kind"]: a["automationId"] for a in listed(api, account)}
    assert [a["match"] or a["kind"] for a in listed(api, account)] == ["price", "rent", "viewing", "greeting"]

    moved = post(browser, f"/automations/{ids['viewing']}/move", {"direction": "up"})

    assert (moved.status, moved.headers["location"]) == (303, f"/automations?page=1#{ids['viewing']}")
    assert [a["match"] or a["kind"] for a in listed(api, account)] == ["price", "viewing", "rent", "greeting"]
    post(browser, f"/automations/{ids['price']}/move", {"direction": "down"})
    assert [a["match"] or a["kind"] for a in listed(api, account)] == ["viewing", "price", "rent", "greeting"]
    # The greeting is tried after every keyword whatever the order: no move crosses a group.
    page = browser.request("GET", "/automations").text
    assert f'formaction="/automations/{ids["greeting"]}/move"' not in page
    assert f'formaction="/automations/{ids["rent"]}/move" name="direction" value="down"' not in page
    across = post(browser, f"/automations/{ids['rent']}/move", {"direction": "down"})
    assert across.status == 400
    assert post(browser, f"/automations/{ids['rent']}/move", {"direction": "sideways"}).status == 400
    # A new automation comes last in its group.
    post(browser, "/automations", keyword("parking", "D"))
    order = [a["match"] or a["kind"] for a in listed(api, account)]
    assert order == ["viewing", "price", "rent", "parking", "greeting"]


def test_the_responder_is_saved_and_bedrock_needs_a_model(
    browser: Browser, api: Api, account: Account
) -> None:
    form = {
        "responder": "bedrock",
        "autoReply": "true",
        "modelId": "",
        "systemPrompt": SCRIPT,
        "fallbackReply": "",
        "historyMessages": "8",
        "maxReplyChars": "600",
    }
    refused = post(browser, "/automations/responder", form)
    assert refused.status == 400
    assert field_error(refused.text, "modelId") == "the bedrock responder needs a modelId"
    assert html.escape(SCRIPT, quote=False) in refused.text and 'value="bedrock" checked' in refused.text
    too_long = post(browser, "/automations/responder", {**form, "modelId": "m", "maxReplyChars": "5000"})
    assert field_error(too_long.text, "maxReplyChars") == "Input should be less than or equal to 4096"

    saved = post(browser, "/automations/responder", {**form, "modelId": "anthropic.claude-3-haiku"})

    assert saved.headers["location"] == "/automations?done=responder#responder"
    shown = api.call("GET", "/api/responder", api_key=account.api_key).body
    assert {k: shown[k] for k in ("responder", "autoReply", "modelId", "systemPrompt", "fallbackReply")} == {
        "responder": "bedrock",
        "autoReply": True,
        "modelId": "anthropic.claude-3-haiku",
        "systemPrompt": SCRIPT,
        "fallbackReply": None,
    }
    assert (shown["historyMessages"], shown["maxReplyChars"]) == (8, 600)
    post(
        browser,
        "/automations/responder",
        {"responder": "rules", "historyMessages": "8", "maxReplyChars": "600"},
    )
    shown = api.call("GET", "/api/responder", api_key=account.api_key).body
    assert (shown["responder"], shown["autoReply"]) == ("rules", False)  # an unticked box is "off"


def test_a_session_without_conversations_manage_cannot_open_or_change_automations(
    dashboard: ModuleType, api: Api, account: Account, stack: Stack
) -> None:
    reader = api.call(
        "POST", "/api/api-keys", api_key=account.api_key, json_body={"name": "r", "scopes": ["leads:read"]}
    )
    browser = Browser(dashboard)
    browser.sign_in(reader.body["apiKey"])
    csrf = browser.csrf("/")
    assert browser.request("GET", "/automations").status == 403
    assert browser.request("POST", "/automations", {**keyword("a", "b"), "csrf": csrf}).status == 403
    assert (
        browser.request("POST", "/automations/responder", {"responder": "rules", "csrf": csrf}).status == 403
    )
    assert stack.entities("automation") == []
