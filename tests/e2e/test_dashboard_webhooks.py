"""The Webhooks pages in a real browser against the local stack (loopback receivers allowed, retries shrunk to
seconds: tests/e2e/conftest.py): a new user adds a Zapier-like endpoint, tests it, watches a lead's delivery
in the log, sees a delivery fail and retries it, all without curl. Also writes the pages' screenshots."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import httpx
from playwright.sync_api import Browser, Locator, expect

from tests.e2e.browsing import PLACEHOLDERS_SCRIPT, SCREENSHOTS, Visitor, api_key
from tests.e2e.conftest import wait_until
from tests.receiver import Answer, Receiver
from tests.stack_process import StackProcess

NewAccount = Callable[..., dict[str, str]]
ZAPIER_LIKE = Answer(200, {"Content-Type": "application/json"}, b'{"status": "success"}')
TEMPLATE = '{"contact": {"name": "{{name}}", "phone": "{{phone}}"}, "source": "leadhub {{event}}"}'


def post_lead(http: httpx.Client, account: dict[str, str], name: str, phone: str) -> str:
    posted = http.post(account["webhookUrl"], json={"name": name, "phone": phone})
    assert posted.status_code == 201, posted.text
    return str(posted.json()["leadId"])


def add_endpoint(visitor: Visitor, name: str, url: str, *, mode: str = "ping", template: str = "") -> None:
    page = visitor.page
    visitor.go("/webhooks")
    page.get_by_role("link", name="Add an endpoint").first.click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("URL", exact=True).fill(url)
    page.get_by_label("lead.created", exact=True).check()
    page.locator(f'input[name="verification"][value="{mode}"]').check()
    if template:
        page.get_by_label("Payload template").fill(template)
    page.get_by_role("button", name="Add endpoint").click()


def delivery(visitor: Visitor, delivery_id: str) -> Locator:
    return visitor.page.locator(f'article[aria-labelledby="delivery-{delivery_id}"]')


def shows(found: Locator, text: str) -> bool:
    """Whether the element is on the page and says `text` (without waiting for it)."""
    return found.count() == 1 and text in found.inner_text()


def reload_until(visitor: Visitor, predicate: Callable[[], bool], timeout: float) -> bool:
    """The plain way (no script needed): reload the page until it shows what is expected."""

    def shown() -> bool:
        visitor.page.reload()
        return predicate()

    return wait_until(shown, timeout=timeout, interval=0.5)


def test_a_zapier_like_endpoint_is_added_tested_and_a_failed_delivery_retried(
    visitor: Visitor, http: httpx.Client, new_account: NewAccount
) -> None:
    account = new_account("Browser Webhooks")
    healthy = True

    def answer(_: object) -> Answer:
        return ZAPIER_LIKE if healthy else Answer(503, body=b"down for maintenance")

    with Receiver(answer, echo=False) as hook:  # a catch hook: it cannot echo the verify token
        visitor.sign_in(account["apiKey"])
        visitor.go("/webhooks")
        expect(visitor.page.get_by_role("heading", name="No endpoints yet")).to_be_visible()
        page = visitor.page
        page.get_by_role("link", name="Add an endpoint").first.click()
        page.get_by_label("Name", exact=True).fill("Zapier: new leads")
        page.get_by_label("URL", exact=True).fill(hook.url)
        page.get_by_label("lead.created", exact=True).check()
        expect(page.get_by_role("button", name="Preview")).to_be_hidden()  # the script previews live

        page.get_by_label("Payload template").fill(TEMPLATE)

        preview = page.locator("[data-preview-body] code")
        expect(preview).to_contain_text('"source": "leadhub lead.created"')  # typed, not submitted
        assert json.loads(preview.inner_text())["contact"] == {
            "name": "Ada Lovelace",
            "phone": "+14155552671",
        }
        page.get_by_role("button", name="Add endpoint").click()

        expect(page.get_by_role("heading", level=1)).to_have_text("Endpoint added: “Zapier: new leads”")
        secret = page.get_by_role("textbox", name="Signing secret").input_value()
        assert secret.startswith("whsec_") and page.get_by_role("button", name="Copy secret").is_visible()
        expect(page.get_by_text("Receiving events").first).to_be_visible()
        [handshake] = hook.events("webhook.verify")
        assert handshake.headers["webhook-signature"].startswith("v1,")

        page.get_by_role("button", name="Send a test event").click()

        result = page.get_by_role("status").filter(has_text="Test: delivered")
        expect(result).to_contain_text("HTTP 200")
        assert re.search(r"in \d+ ms", result.inner_text())
        log_path = page.url.removesuffix("/test").removeprefix(visitor.api)
        endpoint_id = log_path.rsplit("/", 1)[1]

        lead_id = post_lead(http, account, "Grace Hopper", "+14155550161")
        test_send, delivered = hook.wait_for("lead.created", count=2)  # the test, then the lead's
        assert test_send.json["test"] is True
        assert delivered.json == {
            "contact": {"name": "Grace Hopper", "phone": "+14155550161"},
            "source": "leadhub lead.created",
        }
        first_id = delivered.headers["webhook-id"]
        visitor.go(log_path)
        assert reload_until(visitor, lambda: shows(delivery(visitor, first_id), "delivered"), 15)
        assert delivery(visitor, first_id).locator("tbody tr").count() == 1
        expect(delivery(visitor, first_id).locator("td").nth(2)).to_have_text("200")
        assert lead_id

        healthy = False
        post_lead(http, account, "Alan Turing", "+14155550162")
        failing = hook.wait_for("lead.created", count=5, timeout=30)[2:]  # three attempts: 0 s, 1 s, 2 s
        failed_id = failing[0].headers["webhook-id"]
        assert {f.headers["webhook-id"] for f in failing} == {failed_id}
        visitor.go(f"{log_path}?status=failed")
        assert reload_until(visitor, lambda: delivery(visitor, failed_id).count() == 1, 20)
        failed = delivery(visitor, failed_id)
        expect(failed.locator("tbody tr")).to_have_count(3)
        expect(failed).to_contain_text("down for maintenance")
        expect(failed).to_contain_text("503")

        healthy = True
        failed.get_by_role("button", name=re.compile("^Retry")).click()

        expect(page.get_by_role("status").filter(has_text="One more attempt")).to_be_visible()
        # No reload from here: the page's script looks again until the attempt shows.
        expect(delivery(visitor, failed_id)).to_contain_text("delivered", timeout=20_000)
        retried = delivery(visitor, failed_id).locator("tbody tr")
        expect(retried).to_have_count(4)
        expect(retried.nth(3)).to_contain_text("(retry)")
        assert hook.wait_for("lead.created", count=6)[-1].headers["webhook-id"] == failed_id

        visitor.go(f"/webhooks/{endpoint_id}/deliveries/{failed_id}")
        expect(page.locator("#payload")).to_contain_text("Alan Turing")
    assert visitor.dialogs == [] and visitor.problems() == []


def test_an_echo_endpoint_whose_receiver_cannot_echo_says_loudly_that_it_receives_nothing(
    visitor: Visitor, http: httpx.Client, new_account: NewAccount
) -> None:
    account = new_account("Browser Echo")
    with Receiver(lambda _: ZAPIER_LIKE, echo=False) as hook, Receiver() as other:
        visitor.sign_in(account["apiKey"])

        add_endpoint(visitor, "Own server", hook.url, mode="echo")

        alert = visitor.page.get_by_role("note", name="Unverified: receives nothing")
        expect(alert).to_contain_text("did not echo the verifyToken")
        expect(alert.get_by_role("button", name=re.compile("^Verify"))).to_be_visible()
        add_endpoint(visitor, "Backup", other.url)
        visitor.go("/webhooks")
        expect(visitor.page.get_by_role("note", name="Unverified: receives nothing")).to_have_count(1)
        expect(visitor.page.get_by_text("Receiving events")).to_have_count(1)

        post_lead(http, account, "Ada Lovelace", "+14155550163")

        other.wait_for("lead.created")  # the fan-out has run: the unverified one got nothing
        assert [r.event for r in hook.received] == ["webhook.verify"]
    assert visitor.problems() == []


def test_a_session_without_webhooks_manage_sees_no_webhook_settings(
    visitor: Visitor, http: httpx.Client, new_account: NewAccount
) -> None:
    account = new_account("Browser No Webhooks")
    with Receiver() as hook:
        created = http.post(
            "/api/webhook-endpoints",
            json={"name": "CRM", "url": hook.url},
            headers={"X-API-Key": account["apiKey"]},
        )
        assert created.status_code == 201, created.text
    scopes = ["account:view", "account:manage", "leads:read", "integrations:manage", "conversations:manage"]
    visitor.sign_in(api_key(http, account, scopes))

    assert "Webhooks" not in visitor.nav()
    assert visitor.page.get_by_text("deliveries failed").count() == 0
    endpoint = f"/webhooks/{created.json()['endpointId']}"
    for path in ("/webhooks/new", endpoint, f"{endpoint}/edit", f"{endpoint}/delete"):
        assert visitor.go(path) == 403, path
        assert visitor.page.get_by_role("heading", level=1).inner_text() == "Not allowed"


def test_the_webhooks_pages_at_phone_width_and_their_screenshots(
    browser: Browser, stack: StackProcess, http: httpx.Client, new_account: NewAccount
) -> None:
    """docs/screenshots/webhooks*.png: an endpoint receiving events with a delivered and a failed delivery,
    one that receives nothing, and the add form with its preview (placeholders as in test_dashboard)."""
    account = new_account("Acme Realty")
    healthy = True

    def answer(_: object) -> Answer:
        return ZAPIER_LIKE if healthy else Answer(503, body=b"down for maintenance")

    with Receiver(answer, echo=False) as hook:
        for width, suffix in ((1100, ""), (390, "-phone")):
            context = browser.new_context(viewport={"width": width, "height": 760})
            visitor = Visitor(context, stack.api)
            visitor.sign_in(account["apiKey"])
            if not suffix:
                add_endpoint(visitor, "Zapier: new leads", hook.url)
                add_endpoint(visitor, "Own server", hook.url, mode="echo")
                post_lead(http, account, "Ada Lovelace", "+14155550123")
                hook.wait_for("lead.created")
                healthy = False
                post_lead(http, account, "Grace Hopper", "+442079460958")
                hook.wait_for("lead.created", count=4, timeout=30)
                healthy = True
            visitor.go("/webhooks")
            log_link = visitor.page.get_by_role("link", name="Zapier: new leads", exact=True)
            log_path = str(log_link.get_attribute("href"))
            shots = {"webhooks": "/webhooks", "webhook-log": log_path, "webhook-form": "/webhooks/new"}
            for name, path in shots.items():
                visitor.go(path)
                if name == "webhook-log":
                    failed = visitor.page.locator(".status-failed")
                    assert reload_until(visitor, lambda: failed.count() == 1, 20)  # noqa: B023  (used at once)
                    visitor.page.locator("#since").fill("2026-11-22T09:00")
                    visitor.page.locator("#since").blur()
                if name == "webhook-form":
                    visitor.page.get_by_label("Payload template").fill(TEMPLATE)
                    preview = visitor.page.locator("[data-preview-body] code")
                    expect(preview).to_contain_text('"source": "leadhub lead.created"')
                    visitor.page.get_by_label("Payload template").blur()
                overflow = visitor.page.evaluate("document.documentElement.scrollWidth - innerWidth")
                assert overflow <= 0, (name, width)
                if suffix and name != "webhooks":
                    continue
                visitor.page.evaluate(PLACEHOLDERS_SCRIPT)
                if name == "webhook-form":  # its payload template and live preview
                    visitor.page.locator(".template-field").evaluate("field => field.scrollIntoView()")
                full_page = name != "webhook-form"
                visitor.page.screenshot(path=SCREENSHOTS / f"{name}{suffix}.png", full_page=full_page)
            assert visitor.problems() == []
            context.close()
    for name in ("webhooks", "webhooks-phone", "webhook-log", "webhook-form"):
        assert (SCREENSHOTS / f"{name}.png").stat().st_size < 200_000, name
