"""The browser every e2e browser test drives (Debian's headless Chromium through Playwright: one per test
session, since only one Playwright may run in a thread), a dashboard visitor with its own profile, and the
screenshots' placeholders. The fixtures are registered by conftest.py."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Request

from tests.browser import chromium, chromium_missing
from tests.stack_process import StackProcess

# The README's screenshots are written there by `make screenshots` only: a test run leaves the checkout as it
# was (a page's pixels differ by a byte or two between runs) and writes its screenshots to a temporary folder.
SCREENSHOTS = Path(
    os.environ.get("LEADHUB_SCREENSHOTS") or Path(tempfile.gettempdir()) / "leadhub-screenshots"
)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    missing = chromium_missing()
    if missing is not None:
        pytest.skip(missing)  # a failure in CI (tests/conftest.py)
    with chromium() as launched:
        yield launched


class Visitor:
    """One browser profile: its page, every request it made, and what its console said."""

    def __init__(self, context: BrowserContext, api: str) -> None:
        self.context = context
        self.api = api
        self.page = context.new_page()
        self.requests: list[Request] = []
        self.console: list[ConsoleMessage] = []
        self.dialogs: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request))
        self.page.on("console", lambda message: self.console.append(message))
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))

    def go(self, path: str) -> int:
        response = self.page.goto(self.api + path)
        assert response is not None
        return response.status

    def sign_in(self, api_key: str) -> None:
        self.go("/login")
        self.page.get_by_label("API key").fill(api_key)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(self.api + "/")

    def nav(self) -> list[str]:
        return self.page.locator('nav[aria-label="Main"] a').all_inner_texts()

    def problems(self) -> list[str]:
        """Console errors (a CSP violation shows here) and requests to any host but our loopback one."""
        errors = [m.text for m in self.console if m.type == "error"]
        foreign = [r.url for r in self.requests if urlsplit(r.url).hostname != "127.0.0.1"]
        return errors + foreign


@pytest.fixture
def visitor(browser: Browser, stack: StackProcess) -> Iterator[Visitor]:
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    yield Visitor(context, stack.api)
    context.close()


@pytest.fixture
def new_visitor(browser: Browser, stack: StackProcess) -> Iterator[Callable[[], Visitor]]:
    contexts: list[BrowserContext] = []

    def make() -> Visitor:
        contexts.append(browser.new_context(viewport={"width": 1100, "height": 800}))
        return Visitor(contexts[-1], stack.api)

    yield make
    for context in contexts:
        context.close()


def api_key(http: httpx.Client, account: dict[str, str], scopes: list[str]) -> str:
    created = http.post(
        "/api/api-keys", json={"name": "e2e", "scopes": scopes}, headers={"X-API-Key": account["apiKey"]}
    )
    assert created.status_code == 201, created.text
    return str(created.json()["apiKey"])


# Replaces what differs between runs in every text node and input value.
PLACEHOLDERS_SCRIPT = r"""
() => {
  const rules = [
    [/127\.0\.0\.1:\d+/g, "127.0.0.1:3000"],
    [/\b(lht|lhk|lhw)_[A-Za-z0-9_-]{8,}/g, (m, p) => p + "_" + "x".repeat(p === "lhk" ? 43 : 32)],
    [/\b(lhk)_[A-Za-z0-9_-]{4}…/g, "lhk_xxxx…"],
    [/\b(acc|key|aud|lead|lnk|wep|msg|evt|conv|dlv)_[0-9a-z]{26}\b/g, (m, p) => p + "_01example"],
    [/\bwhsec_[A-Za-z0-9+\/=]{20,}/g, "whsec_" + "x".repeat(44)],
    [/\b\d+ ms\b/g, "12 ms"],
    [/\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?/g, "2026-11-23 09:00"],
  ];
  const fix = (text) => rules.reduce((t, [pattern, to]) => t.replace(pattern, to), text);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) walker.currentNode.nodeValue = fix(walker.currentNode.nodeValue);
  for (const input of document.querySelectorAll("input")) input.value = fix(input.value);
}
"""
