"""The website chat widget in a real browser (Debian's headless Chromium, driven by Playwright) against the
session's local stack. The host page is the README's example page (examples/widget.html) served from
another loopback origin: http://localhost:{port} is on the widget's allow-list, http://127.0.0.1:{port}
(same server, another origin) is not."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect

from tests.e2e.conftest import wait_until
from tests.host_site import HostSite
from tests.receiver import Receiver
from tests.stack_process import REPO_ROOT, StackProcess

REPLY = "Our plans start at 10 EUR a month."
EMAIL = "ada.visitor@example.com"
NewAccount = Callable[..., dict[str, str]]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostSite]:
    served = HostSite(tmp_path_factory.mktemp("host-site"))
    yield served
    served.close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver(echo=False) as hook:  # a catch hook: ping verification
        yield hook


@pytest.fixture(scope="module")
def shop(stack: StackProcess, http: httpx.Client, site: HostSite, receiver: Receiver) -> dict[str, Any]:
    """An account with a keyword automation, an endpoint subscribed to lead.created and its widget enabled
    for the host site's origin, asking for contact details after the first reply."""
    created = http.post(
        "/api/admin/accounts",
        json={"name": "Widget shop", "plan": "pro"},
        headers={"X-Admin-Key": stack.ready["adminKey"]},
    )
    assert created.status_code == 201, created.text
    account = created.json()
    keyed = {"X-API-Key": account["apiKey"]}
    automation = {"kind": "keyword", "match": "price", "reply": REPLY}
    assert http.post("/api/automations", json=automation, headers=keyed).status_code == 201
    endpoint = {"name": "CRM", "url": receiver.url, "events": ["lead.created"], "verification": "ping"}
    registered = http.post("/api/webhook-endpoints", json=endpoint, headers=keyed)
    assert registered.status_code == 201 and registered.json()["receivesEvents"], registered.text
    settings = {
        "enabled": True,
        "allowedOrigins": [site.origin],
        "title": "Example shop",
        "capture": "after_first_reply",
        "consentText": "We use your details only to answer you.",
    }
    widget = http.put("/api/widget", json=settings, headers=keyed)
    assert widget.status_code == 200, widget.text
    body = widget.json()
    assert body["snippet"] == (
        f'<script src="{stack.api}/widget.js" data-widget-key="{body["widgetKey"]}" async></script>'
    )
    site.publish(stack.api, body["widgetKey"])
    return {"account": account, "keyed": keyed, "widget": body}


class Visitor:
    """One browser profile (its own localStorage): its page, and every request the page made."""

    def __init__(self, browser: Browser, **options: Any) -> None:
        self.context = browser.new_context(**options)
        # What the page defines before any script runs, to tell the globals the widget adds.
        self.context.add_init_script("window.__globalsBefore = Object.getOwnPropertyNames(window)")
        self.page: Page = self.context.new_page()
        self.requests: list[Request] = []
        self.page.on("request", lambda request: self.requests.append(request))

    def visit(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_function("window.LeadhubWidget && window.LeadhubWidget.status !== 'loading'")

    @property
    def status(self) -> str:
        return str(self.page.evaluate("window.LeadhubWidget.status"))

    def open_chat(self) -> None:
        self.page.get_by_role("button", name="Chat with us").click()
        expect(self.page.get_by_role("dialog", name="Example shop")).to_be_visible()

    def write(self, text: str) -> None:
        self.page.get_by_role("textbox", name="Type your message…").fill(text)
        self.page.keyboard.press("Enter")

    def log(self) -> Any:
        return self.page.get_by_role("log")

    def hosts(self) -> set[str]:
        return {urlsplit(request.url).netloc for request in self.requests}

    def close(self) -> None:
        self.context.close()


def test_a_visitor_chats_leaves_an_email_and_continues_after_a_reload(
    browser: Browser, stack: StackProcess, http: httpx.Client, site: HostSite, receiver: Receiver, shop
) -> None:
    keyed = shop["keyed"]
    visitor = Visitor(browser)
    try:
        page_url = f"{site.origin}/?utm_source=e2e&utm_campaign=launch"
        visitor.visit(page_url)
        assert visitor.status == "ready"
        visitor.open_chat()
        expect(visitor.log()).to_contain_text("Hi! How can we help you today?")  # the greeting

        visitor.write("What is the price?")
        expect(visitor.log()).to_contain_text(REPLY)  # the keyword automation's reply, polled

        # Capture after the first reply: the contact form, with the account's consent line.
        form = visitor.page.get_by_role("form", name="Leave your details so we can get back to you.")
        expect(form).to_be_visible()
        expect(form).to_contain_text("We use your details only to answer you.")
        visitor.page.get_by_label("Email").fill("not an address")
        visitor.page.get_by_role("button", name="Send details").click()
        expect(visitor.page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")  # the lead rules
        visitor.page.get_by_label("Name").fill("Ada Visitor")
        visitor.page.get_by_label("Email").fill(EMAIL)
        visitor.page.get_by_role("button", name="Send details").click()
        expect(visitor.log()).to_contain_text("Thanks! We will be in touch.")
        expect(form).to_be_hidden()

        [lead] = [lead for lead in http.get("/api/leads", headers=keyed).json()["items"] if lead["email"]]
        assert (lead["email"], lead["name"], lead["source"]) == (EMAIL, "Ada Visitor", "website-widget")
        assert lead["customFields"]["pageUrl"] == page_url
        assert (lead["customFields"]["utm_source"], lead["customFields"]["utm_campaign"]) == ("e2e", "launch")
        [delivery] = receiver.wait_for("lead.created")
        event = delivery.json["data"]
        assert (event["leadId"], event["source"]) == (lead["leadId"], "website-widget")
        assert event["customFields"]["pageUrl"] == page_url
        [conversation] = http.get("/api/conversations", params={"channel": "web"}, headers=keyed).json()[
            "items"
        ]
        assert conversation["leadId"] == lead["leadId"]  # attached to the lead

        # A returning visitor (same browser profile) continues the same conversation.
        visitor.page.reload()
        visitor.page.wait_for_function("window.LeadhubWidget && window.LeadhubWidget.status === 'ready'")
        visitor.open_chat()
        expect(visitor.log()).to_contain_text("What is the price?")
        expect(visitor.log()).to_contain_text(REPLY)
        expect(
            visitor.page.get_by_role("form", name="Leave your details so we can get back to you.")
        ).to_be_hidden()
        visitor.write("And delivery times?")
        expect(visitor.log()).to_contain_text("And delivery times?")
        path = f"/api/conversations/{conversation['conversationId']}"
        assert wait_until(lambda: http.get(path, headers=keyed).json()["messageCount"] == 3, timeout=10)
        assert (
            len(http.get("/api/conversations", params={"channel": "web"}, headers=keyed).json()["items"]) == 1
        )

        # An agent answers through the API: the widget shows it.
        agent = http.post(f"{path}/messages", json={"text": "Hi Ada, two days within the EU."}, headers=keyed)
        assert agent.status_code == 202, agent.text
        expect(visitor.log()).to_contain_text("Hi Ada, two days within the EU.")

        # Nothing but the host page and Leadhub's API was asked for.
        assert visitor.hosts() == {urlsplit(site.origin).netloc, urlsplit(stack.api).netloc}
    finally:
        visitor.close()


def test_a_page_from_an_origin_not_on_the_list_is_refused(
    browser: Browser, stack: StackProcess, http: httpx.Client, site: HostSite, shop
) -> None:
    session = f"/widget/v1/{shop['widget']['widgetKey']}/session"
    preflight = http.options(
        session, headers={"Origin": site.other_origin, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers
    visitor = Visitor(browser)
    try:
        # The browser asks first (the preflight), is refused, and never sends the session request.
        with visitor.page.expect_event("requestfailed", lambda r: r.url.endswith("/session")):
            visitor.visit(f"{site.other_origin}/")
        assert visitor.status == "unavailable"
        assert visitor.page.locator("#leadhub-widget").count() == 0  # nothing shown
    finally:
        visitor.close()


def test_the_widget_works_by_keyboard_at_phone_width_whatever_the_page_styles(
    browser: Browser, site: HostSite, shop
) -> None:
    visitor = Visitor(browser, viewport={"width": 375, "height": 667})
    page = visitor.page
    try:
        visitor.visit(f"{site.origin}/")
        launcher = page.get_by_role("button", name="Chat with us")
        # The page's `button { all: unset; color: red }` does not reach it: the account's colours do.
        expect(launcher).to_have_css("background-color", "rgb(37, 99, 235)")
        expect(launcher).to_have_css("color", "rgb(255, 255, 255)")
        page.keyboard.press("Tab")
        expect(launcher).to_be_focused()
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog", name="Example shop")
        expect(dialog).to_be_visible()
        expect(launcher).to_have_attribute("aria-expanded", "true")
        expect(page.get_by_role("textbox", name="Type your message…")).to_be_focused()
        box = dialog.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["y"] >= 0
        assert box["x"] + box["width"] <= 375 and box["y"] + box["height"] <= 667
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(launcher).to_be_focused()
        expect(launcher).to_have_attribute("aria-expanded", "false")
        added = page.evaluate(
            "Object.getOwnPropertyNames(window).filter(k => !window.__globalsBefore.includes(k))"
        )
        assert added == ["__globalsBefore", "LeadhubWidget"]  # ours and the test's own: one global
    finally:
        visitor.close()


@pytest.mark.parametrize("capture", ["before_chat", "after_messages:2"])
def test_the_contact_form_comes_when_the_capture_setting_says(
    browser: Browser, stack: StackProcess, http: httpx.Client, site: HostSite, capture: str
) -> None:
    created = http.post(
        "/api/admin/accounts",
        json={"name": f"Capture {capture}"},
        headers={"X-Admin-Key": stack.ready["adminKey"]},
    )
    keyed = {"X-API-Key": created.json()["apiKey"]}
    settings = {"enabled": True, "allowedOrigins": [site.origin], "title": "Example shop", "capture": capture}
    widget = http.put("/api/widget", json=settings, headers=keyed).json()
    path = site.publish(stack.api, widget["widgetKey"], f"capture-{capture.replace(':', '-')}.html")
    visitor = Visitor(browser)
    page = visitor.page
    form = page.get_by_role("form", name="Leave your details so we can get back to you.")
    try:
        visitor.visit(site.origin + path)
        visitor.open_chat()
        if capture == "before_chat":
            expect(form).to_be_visible()
            expect(page.get_by_role("textbox", name="Type your message…")).to_be_hidden()
            expect(page.get_by_role("button", name="Not now")).to_be_hidden()  # no chat without details
            expect(page.get_by_label("Name")).to_be_focused()
            page.get_by_label("Phone").fill("+1 415 555 2671")
            page.get_by_role("button", name="Send details").click()
            expect(form).to_be_hidden()
            visitor.write("Hello after my details")
            expect(visitor.log()).to_contain_text("Hello after my details")
            [lead] = http.get("/api/leads", headers=keyed).json()["items"]
            assert (lead["phone"], lead["source"]) == ("+14155552671", "website-widget")
        else:
            visitor.write("First")
            expect(page.locator(".message.visitor:not(.pending)")).to_have_count(1)  # stored (201)
            expect(form).to_be_hidden()
            visitor.write("Second")
            expect(form).to_be_visible()  # after the visitor's second message
            page.get_by_role("button", name="Not now").click()
            expect(form).to_be_hidden()
            expect(page.get_by_role("textbox", name="Type your message…")).to_be_focused()
    finally:
        visitor.close()


def readme_widget_blocks() -> list[str]:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Website chat widget", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, re.S)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_the_readme_widget_section_runs_as_printed(
    browser: Browser, stack: StackProcess, tmp_path: Path
) -> None:
    setup, serve, check = readme_widget_blocks()
    port = free_port()
    # The README runs from the repository root (its .leadhub/local.json names the stack) and serves on
    # PAGE_PORT.
    (tmp_path / ".leadhub").symlink_to(stack.state_dir)
    (tmp_path / "examples").symlink_to(REPO_ROOT / "examples")
    env = {**os.environ, "PAGE_PORT": str(port)}
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", setup],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    page = (tmp_path / ".leadhub" / "widget-example" / "index.html").read_text()
    assert f'<script src="{stack.api}/widget.js" data-widget-key="lhw_' in page

    server = subprocess.Popen(
        ["bash", "-c", f"exec {serve.strip()}"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    visitor = Visitor(browser)
    try:
        assert wait_until(lambda: _listening(port), timeout=10)
        visitor.visit(f"http://127.0.0.1:{port}/?utm_source=readme")
        assert visitor.status == "ready"
        visitor.page.get_by_role("button", name="Chat with us").click()
        visitor.write("What is the price?")
        expect(visitor.log()).to_contain_text("Our plans start at 10 EUR a month.")
        visitor.page.get_by_label("Email").fill("readme.visitor@example.com")
        visitor.page.get_by_role("button", name="Send details").click()
        expect(visitor.log()).to_contain_text("Thanks! We will be in touch.")
    finally:
        visitor.close()
        server.terminate()
        server.wait(10)

    checked = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", setup.split("\n\n", 1)[0] + "\n" + check],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert checked.returncode == 0, checked.stderr
    decoder, text = json.JSONDecoder(), checked.stdout.strip()
    leads, end = decoder.raw_decode(text)
    conversations, _ = decoder.raw_decode(text[end:].strip())
    [lead] = leads["items"]
    assert (lead["email"], lead["source"]) == ("readme.visitor@example.com", "website-widget")
    assert lead["customFields"]["utm_source"] == "readme"
    assert lead["leadId"] in {c["leadId"] for c in conversations["items"]}


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
