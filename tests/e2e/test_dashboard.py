"""The dashboard in a real browser: Debian's headless Chromium, driven by Playwright, against the session's
local stack (`make run` as a user starts it). Also takes the README's screenshots (written to
docs/screenshots/ by `make screenshots`)."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Browser

from tests.e2e.browsing import PLACEHOLDERS_SCRIPT, SCREENSHOTS, Visitor, api_key
from tests.stack_process import REPO_ROOT, StackProcess

SCRIPT_NAME = "<script>alert(1)</script>"


def test_sign_in_with_a_key_shows_the_overview(
    visitor: Visitor, new_account: Callable[..., dict[str, str]]
) -> None:
    account = new_account("Browser Sign-in")
    assert visitor.go("/") == 200 and visitor.page.url == visitor.api + "/login"  # 303 to the sign-in page

    visitor.sign_in(account["apiKey"])

    assert visitor.page.get_by_role("heading", level=1).inner_text().startswith("Overview")
    assert visitor.page.get_by_label("Webhook URL").input_value() == account["webhookUrl"]
    assert visitor.nav() == [
        "Overview",
        "Leads",
        "Inbox",
        "Channels",
        "Automations",
        "Webhooks",
        "API keys",
        "Audit log",
    ]
    assert visitor.problems() == []


def test_sign_in_with_a_one_time_link_works_once(
    new_visitor: Callable[[], Visitor], http: httpx.Client, new_account: Callable[..., dict[str, str]]
) -> None:
    account = new_account("Browser Link")
    minted = http.post("/api/dashboard/links", json={}, headers={"X-API-Key": account["apiKey"]})
    assert minted.status_code == 201, minted.text
    url = minted.json()["url"]
    first = new_visitor()

    first.page.goto(url)
    first.page.get_by_role("button", name="Sign in").click()

    first.page.wait_for_url(first.api + "/")
    assert "Browser Link" in first.page.get_by_role("heading", level=1).inner_text()
    second = new_visitor()
    assert second.page.goto(url).status == 410  # type: ignore[union-attr]
    assert "used already" in second.page.get_by_role("alert").inner_text()
    assert second.page.get_by_role("button", name="Sign in").count() == 0


def test_the_readmes_link_command_runs_as_printed_and_its_link_signs_in(
    visitor: Visitor, stack: StackProcess, tmp_path: Path
) -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Dashboard", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None
    (tmp_path / ".leadhub").symlink_to(stack.state_dir)  # as in the repository after `make run`

    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.group(1)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    link = json.loads(run.stdout)
    assert link["url"].startswith(f"{stack.api}/login/link/lhl_")
    visitor.page.goto(link["url"])
    visitor.page.get_by_role("button", name="Sign in").click()
    visitor.page.wait_for_url(visitor.api + "/")
    assert visitor.nav() == [
        "Overview",
        "Leads",
        "Audit log",
    ]  # the scopes asked for: leads:read, account:view


def test_a_script_bearing_lead_name_renders_as_text(
    visitor: Visitor, http: httpx.Client, new_account: Callable[..., dict[str, str]]
) -> None:
    account = new_account("Browser XSS")
    posted = http.post(account["webhookUrl"], json={"name": SCRIPT_NAME, "phone": "+14155550101"})
    assert posted.status_code == 201, posted.text

    visitor.sign_in(account["apiKey"])

    assert visitor.page.get_by_role("link", name=SCRIPT_NAME).is_visible()  # the latest leads list
    assert visitor.dialogs == [] and visitor.problems() == []


def test_a_form_posted_without_its_csrf_token_is_refused(
    visitor: Visitor, new_account: Callable[..., dict[str, str]]
) -> None:
    account = new_account("Browser CSRF")
    visitor.sign_in(account["apiKey"])
    visitor.go("/settings/api-keys")
    visitor.page.get_by_label("Name").fill("forged")
    visitor.page.get_by_label("leads:read").check()
    visitor.page.locator('form[action="/settings/api-keys"] input[name="csrf"]').evaluate("e => e.remove()")

    with visitor.page.expect_response(lambda r: r.request.method == "POST") as posted:
        visitor.page.get_by_role("button", name="Create key").click()

    assert posted.value.status == 403
    assert "did not come from this site" in visitor.page.get_by_role("alert").inner_text()
    visitor.go("/settings/api-keys")
    assert visitor.page.get_by_role("cell", name="forged").count() == 0


def test_a_leads_read_session_sees_no_settings_and_is_refused_them(
    visitor: Visitor, http: httpx.Client, new_account: Callable[..., dict[str, str]]
) -> None:
    account = new_account("Browser Reader")
    visitor.sign_in(api_key(http, account, ["leads:read"]))

    assert visitor.nav() == ["Overview", "Leads"]
    assert visitor.page.get_by_label("Webhook URL").count() == 0
    assert visitor.page.get_by_role("link", name="Rotate the token…").count() == 0
    for path in ("/settings/api-keys", "/webhooks", "/audit", "/settings/webhook-token"):
        assert visitor.go(path) == 403, path
        assert visitor.page.get_by_role("heading", level=1).inner_text() == "Not allowed"


def test_logout_ends_the_session_and_the_old_cookie_no_longer_works(
    visitor: Visitor, new_visitor: Callable[[], Visitor], new_account: Callable[..., dict[str, str]]
) -> None:
    account = new_account("Browser Logout")
    visitor.sign_in(account["apiKey"])
    cookies = visitor.context.cookies()
    assert [c["name"] for c in cookies if c["name"].endswith("lh_session")] == ["lh_session"]
    assert all(c["httpOnly"] and c["sameSite"] == "Strict" for c in cookies)

    visitor.page.get_by_role("button", name="Sign out").click()

    visitor.page.wait_for_url(visitor.api + "/login")
    replay = new_visitor()
    replay.context.add_cookies(cookies)
    replay.go("/")
    assert replay.page.url == replay.api + "/login"


def test_every_page_has_the_csp_and_loads_nothing_from_elsewhere(
    visitor: Visitor, new_account: Callable[..., dict[str, str]]
) -> None:
    account = new_account("Browser CSP")
    responses: list[tuple[str, str | None]] = []
    visitor.page.on("response", lambda r: responses.append((r.url, r.headers.get("content-security-policy"))))
    visitor.sign_in(account["apiKey"])
    for path in (
        "/",
        "/settings/api-keys",
        "/audit",
        "/leads",
        "/inbox",
        "/channels",
        "/automations",
        "/webhooks",
        "/settings/webhook-token",
        "/logout",
    ):
        assert visitor.go(path) == 200, path
    assert visitor.problems() == []
    assert visitor.go("/no-such-page") == 404  # an error page has them too

    assert {url for url, csp in responses if not csp} == set()
    assert any("/assets/app." in url for url, _ in responses)


def test_the_main_pages_at_phone_width_and_their_screenshots(
    browser: Browser, stack: StackProcess, http: httpx.Client, new_account: Callable[..., dict[str, str]]
) -> None:
    """docs/screenshots/*.png for the README; the account's secrets, ids, times and port are replaced by
    fixed placeholders first, so that the files change only when the pages do."""
    account = new_account("Acme Realty")
    for name, phone in (("Ada Lovelace", "+14155550123"), ("Grace Hopper", "+442079460958")):
        assert http.post(account["webhookUrl"], json={"name": name, "phone": phone}).status_code == 201
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shots = {"login": "/login", "overview": "/", "api-keys": "/settings/api-keys", "audit": "/audit"}
    for width, suffix in ((1100, ""), (390, "-phone")):
        context = browser.new_context(viewport={"width": width, "height": 760})
        visitor = Visitor(context, stack.api)
        for name, path in shots.items():
            if name == "overview":
                visitor.sign_in(account["apiKey"])
            visitor.go(path)
            # At phone width nothing scrolls sideways but tables and code (their own scroll boxes).
            overflow = visitor.page.evaluate("document.documentElement.scrollWidth - innerWidth")
            assert overflow <= 0, (name, width)
            if suffix and name != "overview":
                continue
            visitor.page.evaluate(PLACEHOLDERS_SCRIPT)
            visitor.page.screenshot(path=SCREENSHOTS / f"{name}{suffix}.png", full_page=name != "overview")
        assert visitor.problems() == []
        context.close()
    for shot in SCREENSHOTS.glob("*.png"):
        assert shot.stat().st_size < 200_000, shot.name
