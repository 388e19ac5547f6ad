"""The dashboard's Webhooks pages in moto against real receivers on loopback: adding an endpoint through the
form (secret shown once, custom headers never shown again), verification state said loudly, the API's field
errors next to their fields, the live preview, edit/test/enable/rotate/delete, the delivery log with each
delivery's attempts, retry and recover, scopes and tenants."""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest
from markupsafe import escape
from standardwebhooks.webhooks import Webhook

from leadhub.dashboard.http import MAX_FORM_BYTES
from leadhub.dashboard.webhooks import sample_envelope
from leadhub.outbound.adapters.dynamodb_delivery_log import DynamoDeliveryLog
from leadhub.outbound.models import Attempt, Delivery, DeliveryJob, DeliveryStatus
from leadhub.outbound.payload_template import render, validate_template
from leadhub.platform.timestamps import to_iso, utc_now
from tests.integration.conftest import Account, Api, Stack, shared_clients
from tests.integration.test_dashboard import Answer as Page
from tests.integration.test_dashboard import Browser, nav_links
from tests.integration.test_webhook_endpoints import CAUGHT, CatchHook
from tests.receiver import Answer

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def hook() -> Iterator[CatchHook]:
    receiver = CatchHook()
    yield receiver
    receiver.close()


@pytest.fixture
def dashboard(api: Api, stack: Stack) -> ModuleType:
    return stack.load_function("DashboardFunction", ALLOW_PRIVATE_WEBHOOK_TARGETS="true")


@pytest.fixture
def browser(dashboard: ModuleType, account: Account) -> Browser:
    signed_in = Browser(dashboard)
    assert signed_in.sign_in(account.api_key).status == 303
    return signed_in


def post(
    browser: Browser, path: str, form: dict[str, Any] | None = None, csrf_from: str = "/webhooks"
) -> Page:
    return browser.request("POST", path, {**(form or {}), "csrf": browser.csrf(csrf_from)})


def add(browser: Browser, url: str, **fields: Any) -> Page:
    return post(browser, "/webhooks/new", {"name": "Zap", "url": url, **fields})


def endpoint_id_of(page: Page) -> str:
    found = re.search(r'action="/webhooks/(wep_[0-9a-z]+)/test"', page.text)
    assert found, page.text
    return found.group(1)


def field_error(page: Page, field: str) -> str | None:
    found = re.search(rf'<p class="field-error" id="{re.escape(field)}-error">(.*?)</p>', page.text, re.S)
    return found.group(1) if found else None


def secret_on(page: Page) -> str:
    found = re.search(r'id="secret-value" class="mono" type="text" value="(whsec_[^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def audit_sources(stack: Stack, action: str) -> list[str]:
    return [i["source"]["S"] for i in stack.entities("audit") if i["action"]["S"] == action]


# -- adding an endpoint -----------------------------------------------------------------------------


def test_an_endpoint_added_through_the_form_shows_its_secret_once_and_never_its_header_values(
    browser: Browser, hook: CatchHook, stack: Stack
) -> None:
    form = browser.request("GET", "/webhooks/new")
    assert form.status == 200 and 'name="verification" value="ping"' in form.text

    added = add(
        browser,
        hook.url,
        events=["lead.created", "lead.updated"],
        **{"headers-0-name": "Authorization", "headers-0-value": "Bearer sk-live-123"},
    )

    assert added.status == 201, added.text
    secret = secret_on(added)
    assert "Receiving events" in added.text and "shown only once" in added.text
    [(headers, body)] = hook.requests  # the handshake, signed with the secret shown
    Webhook(secret).verify(body, headers)
    endpoint_id = endpoint_id_of(added)
    assert "Test: delivered" in post(browser, f"/webhooks/{endpoint_id}/test").text
    headers, body = hook.requests[-1]
    assert headers["authorization"] == "Bearer sk-live-123" and json.loads(body)["test"] is True
    listing = browser.request("GET", "/webhooks")
    assert "Zap" in listing.text and "1 custom header" in listing.text
    assert "sk-live-123" not in listing.text and secret not in listing.text
    shown = browser.request("GET", f"/webhooks/{endpoint_id}")
    assert "Authorization: ***" in shown.text
    assert "sk-live-123" not in shown.text and secret not in shown.text
    edit = browser.request("GET", f"/webhooks/{endpoint_id}/edit")
    assert "sk-live-123" not in edit.text and 'value="Authorization" readonly' in edit.text
    assert audit_sources(stack, "webhook_endpoint.created") == ["dashboard"]


def test_an_echo_endpoint_whose_receiver_cannot_echo_says_it_receives_nothing_until_verified(
    browser: Browser, hook: CatchHook
) -> None:
    added = add(browser, hook.url, verification="echo")

    assert added.status == 201
    assert "Unverified: receives nothing" in added.text
    assert "did not echo the verifyToken" in added.text  # the API's own words, with what to do
    endpoint_id = endpoint_id_of(added)
    listing = browser.request("GET", "/webhooks")
    assert 'class="alert" role="note" aria-label="Unverified: receives nothing"' in listing.text
    assert f'action="/webhooks/{endpoint_id}/verify"' in listing.text

    hook.echoing()
    verified = post(browser, f"/webhooks/{endpoint_id}/verify", {"back": "list"})

    assert (verified.status, verified.headers["location"]) == (303, f"/webhooks?verified={endpoint_id}")
    after = browser.request("GET", verified.headers["location"])
    assert "Receiving events" in after.text and "receives nothing" not in after.text


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"name": ""}, "name"),
        ({"url": "ftp://example.com/hook"}, "url"),
        ({"verification": "sometimes"}, "verification"),
        ({"events": ["lead.deleted"]}, "events"),
        ({"payloadTemplate": '{"who": "{{nickname}}"}'}, "payloadTemplate"),
        ({"payloadTemplate": "[1, 2"}, "payloadTemplate"),
        ({"headers-0-name": "X-Leadhub-Event", "headers-0-value": "x"}, "headers"),
        ({"secret": "hunter2"}, "secret"),
    ],
)
def test_refused_forms_show_the_apis_words_next_to_the_field_and_change_nothing(
    browser: Browser, hook: CatchHook, api: Api, account: Account, stack: Stack, form: dict, field: str
) -> None:
    refused = post(browser, "/webhooks/new", {"name": "Zap", "url": hook.url, **form})

    assert refused.status == 400
    shown = field_error(refused, field)
    assert shown, refused.text
    body = {
        "name": "Zap",
        "url": hook.url,
        **{k: v for k, v in form.items() if not k.startswith("headers-")},
    }
    if "headers-0-name" in form:
        body["headers"] = {form["headers-0-name"]: form["headers-0-value"]}
    from_api = api.call("POST", "/api/webhook-endpoints", api_key=account.api_key, json_body=body)
    assert from_api.status == 400
    messages = [d["message"] for d in from_api.body["details"] if d["field"].split(".")[0] == field]
    assert messages and all(str(escape(m)) in shown for m in messages), (shown, messages)
    assert stack.entities("webhook_endpoint") == [] and hook.count == 0
    assert f'value="{body["url"]}"' in refused.text  # what was typed stays in the form


def test_the_plans_endpoint_limit_is_said_on_the_form(
    dashboard: ModuleType, api: Api, hook: CatchHook
) -> None:
    free = api.create_account("Free shop", plan="free")
    browser = Browser(dashboard)
    browser.sign_in(free.api_key)
    assert add(browser, hook.url).status == 201

    refused = add(browser, hook.url, name="Second")

    assert refused.status == 403 and "free plan allows 1 webhook endpoint" in refused.text
    assert 'name="name"' in refused.text and 'value="Second"' in refused.text


def test_an_agency_picks_the_managed_accounts_whose_events_an_endpoint_gets(
    dashboard: ModuleType, api: Api, hook: CatchHook, browser: Browser
) -> None:
    agency = api.create_account("Agency")
    first = api.create_account("Client One", parentAccountId=agency.account_id)
    api.create_account("Client Two", parentAccountId=agency.account_id)
    as_agency = Browser(dashboard)
    as_agency.sign_in(agency.api_key)
    form = as_agency.request("GET", "/webhooks/new")
    assert "Client One" in form.text and "Client Two" in form.text
    assert "Managed accounts" not in browser.request("GET", "/webhooks/new").text  # not an agency

    added = add(as_agency, hook.url, accountFilterMode="only", accountFilter=[first.account_id])

    assert added.status == 201
    endpoint_id = endpoint_id_of(added)
    stored = api.call("GET", f"/api/webhook-endpoints/{endpoint_id}", api_key=agency.api_key).body
    assert stored["accountFilter"] == [first.account_id]
    everyone = post(
        as_agency,
        f"/webhooks/{endpoint_id}/edit",
        {"name": "Zap", "url": hook.url, "accountFilterMode": "all"},
    )
    assert everyone.status == 303
    stored = api.call("GET", f"/api/webhook-endpoints/{endpoint_id}", api_key=agency.api_key).body
    assert stored["accountFilter"] is None


# -- the payload template's preview -----------------------------------------------------------------

TEMPLATE = '{"who": "{{name}}", "first": "{{firstName}}", "budget": "{{custom.budget}}", "on": "{{event}}"}'


def test_the_live_preview_renders_the_sample_lead_as_deliveries_do(
    browser: Browser, account: Account
) -> None:
    token = browser.csrf("/webhooks/new")

    answer = browser.request(
        "POST", "/webhooks/preview", {"payloadTemplate": TEMPLATE}, {"x-csrf-token": token}
    )

    assert answer.status == 200 and answer.headers["content-type"] == "application/json"
    preview = json.loads(answer.text)
    expected = render(validate_template(TEMPLATE), sample_envelope(account.account_id, utc_now()))
    assert json.loads(preview["body"]) == json.loads(expected)
    assert json.loads(preview["body"]) == {
        "who": "Ada Lovelace",
        "first": "Ada",
        "budget": "25000",
        "on": "lead.created",
    }
    invalid = browser.request(
        "POST", "/webhooks/preview", {"payloadTemplate": '{"x": "{{nope}}"}'}, {"x-csrf-token": token}
    )
    assert json.loads(invalid.text)["body"] is None
    assert "unknown placeholder {{nope}}" in json.loads(invalid.text)["error"]
    envelope = json.loads(
        browser.request("POST", "/webhooks/preview", {"payloadTemplate": ""}, {"x-csrf-token": token}).text
    )
    assert envelope["templated"] is False and json.loads(envelope["body"])["event"] == "lead.created"
    assert browser.request("POST", "/webhooks/preview", {"payloadTemplate": TEMPLATE}).status == 403


def test_the_preview_button_shows_the_preview_without_saving(
    browser: Browser, hook: CatchHook, stack: Stack
) -> None:
    shown = add(browser, hook.url, payloadTemplate=TEMPLATE, intent="preview")

    assert shown.status == 200 and stack.entities("webhook_endpoint") == [] and hook.count == 0
    assert "&#34;who&#34;: &#34;Ada Lovelace&#34;" in shown.text
    assert "{{name}}" in shown.text  # the template stays in the form, as typed


def test_a_template_near_the_apis_size_limit_is_saved_from_the_form(
    browser: Browser, hook: CatchHook, api: Api, account: Account
) -> None:
    template = {f"field_{n:03d}": "{{name}} <{{email}}>" for n in range(230)}
    compact = json.dumps(template, separators=(",", ":"))
    assert 7 * 1024 < len(compact) <= 8 * 1024  # the API's limit: 8 KiB of compact JSON
    pretty = json.dumps(template, indent=2)  # as typed; form-encoded, braces and quotes take 3 bytes each
    assert len(urlencode({"payloadTemplate": pretty})) > MAX_FORM_BYTES  # more than other forms may post

    added = add(browser, hook.url, payloadTemplate=pretty)

    assert added.status == 201, field_error(added, "payloadTemplate")
    stored = api.call("GET", "/api/webhook-endpoints", api_key=account.api_key).body["items"][0]
    assert stored["payloadTemplate"] == compact


# -- changing an endpoint ---------------------------------------------------------------------------


def test_editing_keeps_a_header_value_left_blank_and_removes_one_asked_to(
    browser: Browser, hook: CatchHook, stack: Stack
) -> None:
    endpoint_id = endpoint_id_of(
        add(browser, hook.url, **{"headers-0-name": "Authorization", "headers-0-value": "Bearer one"})
    )
    edit = {
        "name": "Zap renamed",
        "url": hook.url,
        "headers-0-stored": "1",
        "headers-0-name": "Authorization",
        "headers-0-value": "",
        "headers-1-name": "X-Tenant",
        "headers-1-value": "t-42",
    }

    saved = post(browser, f"/webhooks/{endpoint_id}/edit", edit)

    assert (saved.status, saved.headers["location"]) == (303, f"/webhooks/{endpoint_id}?saved=1")
    tested = post(browser, f"/webhooks/{endpoint_id}/test")
    headers, _ = hook.requests[-1]
    assert (headers["authorization"], headers["x-tenant"]) == ("Bearer one", "t-42")
    assert "Zap renamed" in tested.text
    removed = {**edit, "headers-0-remove": "1", "headers-1-stored": "1", "headers-1-value": ""}
    assert post(browser, f"/webhooks/{endpoint_id}/edit", removed).status == 303
    post(browser, f"/webhooks/{endpoint_id}/test")
    headers, _ = hook.requests[-1]
    assert "authorization" not in headers and headers["x-tenant"] == "t-42"
    assert audit_sources(stack, "webhook_endpoint.updated") == ["dashboard", "dashboard"]


def test_test_shows_the_status_code_timing_and_whether_events_go_there(
    browser: Browser, hook: CatchHook
) -> None:
    endpoint_id = endpoint_id_of(add(browser, hook.url))
    hook.answer = lambda headers, body: Answer(503, body=b"down")

    failed = post(browser, f"/webhooks/{endpoint_id}/test")

    assert failed.status == 200
    assert "Test: not delivered" in failed.text and "HTTP 503" in failed.text
    assert re.search(r"in <strong>\d+ ms</strong>", failed.text)
    hook.answer = lambda headers, body: CAUGHT
    disabled = post(browser, f"/webhooks/{endpoint_id}/enabled", {"enabled": "false", "back": "endpoint"})
    assert disabled.headers["location"] == f"/webhooks/{endpoint_id}?disabled={endpoint_id}"
    page = browser.request("GET", disabled.headers["location"])
    assert "Disabled: receives nothing" in page.text and 'name="enabled" value="true"' in page.text
    tested = post(browser, f"/webhooks/{endpoint_id}/test")
    assert "Test: delivered" in tested.text and "HTTP 200" in tested.text
    assert "But real events do not go to it:</strong> endpoint disabled through the API" in tested.text

    enabled = post(browser, f"/webhooks/{endpoint_id}/enabled", {"enabled": "true", "back": "list"})
    assert enabled.headers["location"] == f"/webhooks?enabled={endpoint_id}"
    assert "Receiving events" in browser.request("GET", enabled.headers["location"]).text


def test_rotating_shows_the_new_secret_once_and_both_sign_meanwhile(
    browser: Browser, hook: CatchHook
) -> None:
    added = add(browser, hook.url)
    endpoint_id, first = endpoint_id_of(added), secret_on(added)
    confirm = browser.request("GET", f"/webhooks/{endpoint_id}/rotate-secret")
    assert confirm.status == 200 and "Rotate the secret" in confirm.text

    refused = post(browser, f"/webhooks/{endpoint_id}/rotate-secret", {"secret": "hunter2"})
    assert refused.status == 400 and "starts with" in (field_error(refused, "secret") or "")
    rotated = post(browser, f"/webhooks/{endpoint_id}/rotate-secret", {"secret": ""})

    assert rotated.status == 200
    second = secret_on(rotated)
    assert second != first and "previous secret keeps signing" in rotated.text
    post(browser, f"/webhooks/{endpoint_id}/test")
    headers, body = hook.requests[-1]
    Webhook(first).verify(body, headers)
    Webhook(second).verify(body, headers)
    own = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    assert secret_on(post(browser, f"/webhooks/{endpoint_id}/rotate-secret", {"secret": own})) == own


def test_deleting_asks_first(browser: Browser, hook: CatchHook, stack: Stack) -> None:
    endpoint_id = endpoint_id_of(add(browser, hook.url))
    confirm = browser.request("GET", f"/webhooks/{endpoint_id}/delete")
    assert confirm.status == 200 and "Delete the endpoint" in confirm.text
    assert len(stack.entities("webhook_endpoint")) == 1

    deleted = post(browser, f"/webhooks/{endpoint_id}/delete")

    assert (deleted.status, deleted.headers["location"]) == (303, "/webhooks?deleted=1")
    assert stack.entities("webhook_endpoint") == []
    assert "No endpoints yet" in browser.request("GET", "/webhooks").text
    assert audit_sources(stack, "webhook_endpoint.deleted") == ["dashboard"]
    assert browser.request("GET", f"/webhooks/{endpoint_id}").status == 404


# -- the delivery log -------------------------------------------------------------------------------


def logged(
    stack: Stack, account: Account, endpoint_id: str, n: int, status: DeliveryStatus, codes: list[int | None]
) -> Delivery:
    """A delivery of the endpoint, created n minutes after the first, with an attempt per status code
    (None: no answer)."""
    log = DynamoDeliveryLog(stack.table_name)
    created = datetime.now(UTC) - timedelta(minutes=30 - n)
    delivery = Delivery(
        account.account_id,
        f"msg_{n:04d}",
        endpoint_id,
        f"evt_{n}",
        "lead.created",
        account.account_id,
        to_iso(created),
        to_iso(created),
        {"id": f"evt_{n}", "event": "lead.created", "data": {"name": SCRIPT}},
    )
    log.save(delivery)
    for number, code in enumerate(codes, start=1):
        attempt = Attempt(
            delivery.delivery_id,
            number,
            to_iso(created + timedelta(seconds=number)),
            12.3,
            status_code=code,
            error_class=None if code else "timeout",
            response_snippet=f"answer {number} {SCRIPT}" if code else "",
        )
        delivery = log.record_attempt(replace(delivery, status=status, attempts=number), attempt)
    return delivery


def articles(page: Page) -> dict[str, str]:
    return dict(
        re.findall(
            r'<article class="delivery" aria-labelledby="delivery-(msg_\d+)">(.*?)</article>', page.text, re.S
        )
    )


def queued(stack: Stack) -> list[DeliveryJob]:
    sqs = shared_clients().client("sqs")
    jobs = []
    while True:
        got = sqs.receive_message(QueueUrl=stack.delivery_queue_url, MaxNumberOfMessages=10)
        if not got.get("Messages"):
            return jobs
        for message in got["Messages"]:
            jobs.append(DeliveryJob.from_message(message["Body"]))
            sqs.delete_message(QueueUrl=stack.delivery_queue_url, ReceiptHandle=message["ReceiptHandle"])


def test_the_log_shows_each_deliverys_attempts_newest_first_and_filters_by_status(
    browser: Browser, hook: CatchHook, stack: Stack, account: Account
) -> None:
    endpoint_id = endpoint_id_of(add(browser, hook.url))
    logged(stack, account, endpoint_id, 1, DeliveryStatus.DELIVERED, [200])
    logged(stack, account, endpoint_id, 2, DeliveryStatus.FAILED, [503, None, 500])
    logged(stack, account, endpoint_id, 3, DeliveryStatus.PENDING, [])

    page = browser.request("GET", f"/webhooks/{endpoint_id}")

    assert page.status == 200
    shown = articles(page)
    assert list(shown) == ["msg_0003", "msg_0002", "msg_0001"]
    assert len(re.findall(r"<tr>", shown["msg_0002"])) == 4  # the header and three attempts
    assert "timeout" in shown["msg_0002"] and ">503<" in shown["msg_0002"]
    assert "answer 1 &lt;script&gt;" in shown["msg_0002"] and SCRIPT not in page.text
    assert "Retry" in shown["msg_0002"] and "Retry" not in shown["msg_0001"]
    assert "No attempt yet" in shown["msg_0003"]
    assert 'data-poll="waiting"' in page.text  # the pending one: our script looks again
    failed = browser.request("GET", f"/webhooks/{endpoint_id}?status=failed")
    assert list(articles(failed)) == ["msg_0002"] and 'aria-current="page">Failed<' in failed.text
    assert 'data-poll="waiting"' not in failed.text
    detail = browser.request("GET", f"/webhooks/{endpoint_id}/deliveries/msg_0002")
    assert detail.status == 200 and "&lt;script&gt;alert(1)&lt;/script&gt;" in detail.text
    assert "Retry now" in detail.text


def test_the_log_pages_through_a_filtered_listing(
    browser: Browser, hook: CatchHook, stack: Stack, account: Account
) -> None:
    endpoint_id = endpoint_id_of(add(browser, hook.url))
    for n in range(1, 16):
        status = DeliveryStatus.FAILED if n % 3 == 0 else DeliveryStatus.DELIVERED
        logged(stack, account, endpoint_id, n, status, [500 if status is DeliveryStatus.FAILED else 200])

    first = browser.request("GET", f"/webhooks/{endpoint_id}")
    assert len(articles(first)) == 10
    older = re.search(r'href="([^"]+cursor=[^"]+)" rel="next"', first.text)
    assert older
    second = browser.request("GET", older.group(1).replace("&amp;", "&"))
    assert list(articles(second)) == [f"msg_{n:04d}" for n in range(5, 0, -1)]
    failed = browser.request("GET", f"/webhooks/{endpoint_id}?status=failed")
    assert list(articles(failed)) == ["msg_0015", "msg_0012", "msg_0009", "msg_0006", "msg_0003"]


def test_retry_queues_one_manual_attempt_and_recover_queues_the_failed_ones(
    browser: Browser, hook: CatchHook, stack: Stack, account: Account
) -> None:
    endpoint_id = endpoint_id_of(add(browser, hook.url))
    logged(stack, account, endpoint_id, 1, DeliveryStatus.DELIVERED, [200])
    logged(stack, account, endpoint_id, 2, DeliveryStatus.FAILED, [503])
    log_page = f"/webhooks/{endpoint_id}"

    retried = post(browser, f"{log_page}/deliveries/msg_0002/retry", {}, f"{log_page}?status=failed")

    assert retried.headers["location"] == f"{log_page}?retried=msg_0002"
    [job] = queued(stack)
    assert (job.delivery_id, job.manual) == ("msg_0002", True)
    after = browser.request("GET", retried.headers["location"])
    assert "One more attempt of" in after.text and 'data-poll="action"' in after.text
    delivered = post(browser, f"{log_page}/deliveries/msg_0001/retry", {}, log_page)
    assert delivered.status == 409 and "was delivered" in delivered.text
    assert queued(stack) == []

    since = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    recovered = post(browser, f"{log_page}/recover", {"since": since}, log_page)

    assert recovered.headers["location"] == f"{log_page}?recovered=1"
    assert [(j.delivery_id, j.manual) for j in queued(stack)] == [("msg_0002", False)]
    too_old = (datetime.now(UTC) - timedelta(days=20)).strftime("%Y-%m-%dT%H:%M")
    refused = post(browser, f"{log_page}/recover", {"since": too_old}, log_page)
    assert refused.status == 400 and field_error(refused, "since") == "must lie within the last 14 days"
    post(browser, f"/webhooks/{endpoint_id}/enabled", {"enabled": "false"})
    inactive = post(browser, f"{log_page}/recover", {"since": since, "includeSkipped": "true"}, log_page)
    assert inactive.status == 409 and "Enable (and verify) the endpoint first" in inactive.text
    assert queued(stack) == []


# -- who may --------------------------------------------------------------------------------------


def test_a_session_without_webhooks_manage_sees_no_webhooks_and_changes_nothing(
    dashboard: ModuleType, api: Api, account: Account, browser: Browser, hook: CatchHook, stack: Stack
) -> None:
    endpoint_id = endpoint_id_of(add(browser, hook.url))
    logged(stack, account, endpoint_id, 1, DeliveryStatus.FAILED, [500])
    reader_key = api.call(
        "POST",
        "/api/api-keys",
        api_key=account.api_key,
        json_body={"name": "r", "scopes": ["leads:read", "account:view", "conversations:manage"]},
    ).body["apiKey"]
    reader = Browser(dashboard)
    reader.sign_in(reader_key)
    home = reader.request("GET", "/")
    assert "/webhooks" not in nav_links(home.text) and "deliveries failed" not in home.text
    base = f"/webhooks/{endpoint_id}"
    token = reader.csrf("/")
    requests_before = hook.count

    for path in ("/webhooks", "/webhooks/new", base, f"{base}/edit", f"{base}/deliveries/msg_0001"):
        assert reader.request("GET", path).status == 403, path
    for path, form in [
        ("/webhooks/new", {"name": "x", "url": hook.url}),
        ("/webhooks/preview", {"payloadTemplate": "{}"}),
        (f"{base}/edit", {"name": "x", "url": hook.url}),
        (f"{base}/test", {}),
        (f"{base}/verify", {}),
        (f"{base}/enabled", {"enabled": "false"}),
        (f"{base}/rotate-secret", {}),
        (f"{base}/delete", {}),
        (f"{base}/deliveries/msg_0001/retry", {}),
        (f"{base}/recover", {"since": "2026-01-01T00:00"}),
    ]:
        assert reader.request("POST", path, {**form, "csrf": token}).status == 403, path

    assert hook.count == requests_before and queued(stack) == []
    [stored] = stack.entities("webhook_endpoint")
    assert stored["name"]["S"] == "Zap" and stored["enabled"]["BOOL"] is True


def test_another_accounts_endpoint_and_deliveries_are_not_found(
    dashboard: ModuleType, api: Api, account: Account, browser: Browser, hook: CatchHook, stack: Stack
) -> None:
    endpoint_id = endpoint_id_of(add(browser, hook.url))
    logged(stack, account, endpoint_id, 1, DeliveryStatus.FAILED, [500])
    other = api.create_account("Other")
    stranger = Browser(dashboard)
    stranger.sign_in(other.api_key)
    base = f"/webhooks/{endpoint_id}"

    for path in (base, f"{base}/edit", f"{base}/deliveries/msg_0001", f"{base}/delete"):
        assert stranger.request("GET", path).status == 404, path
    for path in (f"{base}/test", f"{base}/delete", f"{base}/deliveries/msg_0001/retry"):
        assert post(stranger, path).status == 404, path
    assert endpoint_id not in stranger.request("GET", "/webhooks").text
    assert len(stack.entities("webhook_endpoint")) == 1 and queued(stack) == []


def test_names_and_answers_from_strangers_are_shown_as_text(
    browser: Browser, hook: CatchHook, stack: Stack, account: Account
) -> None:
    endpoint_id = endpoint_id_of(add(browser, hook.url, name=SCRIPT))

    for path in ("/webhooks", f"/webhooks/{endpoint_id}", f"/webhooks/{endpoint_id}/edit"):
        page = browser.request("GET", path)
        assert SCRIPT not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text, path
