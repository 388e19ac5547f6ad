"""The website widget inside moto: its settings through the management API, the widget function's real
handler (script, CORS preflight and origin checks, sessions, messages, polling, limits, lead capture),
and the pipeline behind it: the fan-out turns the visitor's message into a reply job, and the
conversation worker answers it on the web channel, where the widget's poll finds the reply."""

from __future__ import annotations

import base64
import gzip
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest

from leadhub.channels.web.script import MAX_COMPRESSED_BYTES
from leadhub.leads.adapters.dynamodb_leads import lead_from_image
from leadhub.outbound.outbox import lead_facts
from local.pollers import sqs_event, stream_event
from tests.integration.conftest import (
    Account,
    Api,
    HttpResult,
    LambdaContext,
    Stack,
    http_event,
    invoke,
    shared_clients,
)
from tests.integration.test_outbox_stream import stream_records

ORIGIN = "https://shop.example"
REPLY = "Our plans start at 10 EUR a month."


@dataclass
class Site:
    stack: Stack
    api: Api
    account: Account
    widget: ModuleType
    key: str

    def put(self, settings: dict[str, Any]) -> HttpResult:
        return self.api.call("PUT", "/api/widget", api_key=self.account.api_key, json_body=settings)

    def request(
        self,
        method: str,
        action: str,
        body: Any = None,
        *,
        origin: str | None = ORIGIN,
        headers: dict[str, str] | None = None,
        query: str = "",
        key: str | None = None,
    ) -> HttpResult:
        sent = {**({"origin": origin} if origin else {}), **(headers or {})}
        if body is not None and not isinstance(body, bytes | str):
            body = json.dumps(body)
            sent.setdefault("content-type", "application/json")
        path = f"/widget/v1/{key or self.key}/{action}"
        event = http_event(
            method,
            path,
            route_key=f"{method} /widget/v1/{{widgetKey}}/{{action}}",
            headers=sent,
            body=body,
            query=query,
            path_parameters={"widgetKey": key or self.key, "action": action},
        )
        event["requestContext"]["http"]["sourceIp"] = "203.0.113.9"
        return invoke(self.widget, event)

    def session(self, token: str | None = None) -> dict[str, str]:
        result = self.request("POST", "session", {}, headers={"x-leadhub-visitor": token} if token else None)
        assert result.status == 200, result.body
        return {"x-leadhub-visitor": result.body["visitorToken"], "x-leadhub-page": result.body["pageToken"]}


@pytest.fixture
def site(stack: Stack) -> Site:
    secret = stack.specs["WidgetFunction"].environment["WIDGET_SECRET_PARAMETER"]
    shared_clients().client("ssm").put_parameter(
        Name=secret, Value="integration-widget-secret-0123456789abcdef", Type="SecureString"
    )
    api = Api(stack)
    account = api.create_account()
    widget = stack.load_function("WidgetFunction", WIDGET_CACHE_SECONDS="0")
    configured = api.call(
        "PUT",
        "/api/widget",
        api_key=account.api_key,
        json_body={"enabled": True, "allowedOrigins": [ORIGIN, "http://localhost:8000"], "capture": "off"},
    )
    assert configured.status == 200, configured.body
    return Site(stack, api, account, widget, configured.body["widgetKey"])


# -- settings -------------------------------------------------------------------------------------


def test_settings_start_from_defaults_and_a_put_gives_the_key_and_the_snippet(stack: Stack) -> None:
    api = Api(stack)
    account = api.create_account()
    before = api.call("GET", "/api/widget", api_key=account.api_key)
    assert before.status == 200
    assert (before.body["enabled"], before.body["widgetKey"], before.body["snippet"]) == (False, None, None)

    saved = api.call(
        "PUT",
        "/api/widget",
        api_key=account.api_key,
        json_body={"enabled": True, "allowedOrigins": ["HTTPS://Shop.Example:443/"], "title": "Ask us"},
    )
    assert saved.status == 200, saved.body
    key = saved.body["widgetKey"]
    assert re.fullmatch(r"lhw_[A-Za-z0-9_-]{32}", key)
    assert saved.body["allowedOrigins"] == [ORIGIN]
    script = "https://id.execute-api.us-east-1.amazonaws.com/widget.js"
    assert saved.body["snippet"] == f'<script src="{script}" data-widget-key="{key}" async></script>'

    again = api.call("GET", "/api/widget", api_key=account.api_key).body
    assert (again["widgetKey"], again["title"]) == (key, "Ask us")
    rotated = api.call("POST", "/api/widget/rotate-key", api_key=account.api_key)
    assert rotated.status == 200 and rotated.body["widgetKey"] != key
    actions = [e["action"] for e in api.call("GET", "/api/audit", api_key=account.api_key).body["items"]]
    assert actions[:2] == ["widget.key_rotated", "widget.updated"]


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"allowedOrigins": ["https://shop.example/path"]}, "allowedOrigins"),
        ({"enabled": True}, "body"),  # on, but for no origin
        ({"capture": "after_messages:0"}, "capture"),
        ({"colors": {"primary": "blue"}}, "colors.primary"),
        ({"texts": {"launcher": ""}}, "texts.launcher"),
        ({"rateLimits": {"messagesPerVisitorPerMinute": 0}}, "rateLimits.messagesPerVisitorPerMinute"),
        ({"position": "top"}, "position"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_settings_are_400_field_by_field(stack: Stack, settings: dict[str, Any], field: str) -> None:
    api = Api(stack)
    account = api.create_account()
    result = api.call("PUT", "/api/widget", api_key=account.api_key, json_body=settings)
    assert result.status == 400, result.body
    assert [d["field"] for d in result.body["details"]] == [field]


def test_rotating_before_any_put_is_404_and_other_scopes_are_403(stack: Stack) -> None:
    api = Api(stack)
    account = api.create_account()
    assert api.call("POST", "/api/widget/rotate-key", api_key=account.api_key).status == 404
    reader = api.call(
        "POST", "/api/api-keys", api_key=account.api_key, json_body={"name": "r", "scopes": ["leads:read"]}
    ).body["apiKey"]
    assert api.call("GET", "/api/widget", api_key=reader).status == 403


# -- the script -------------------------------------------------------------------------------------


def test_the_script_is_small_compressed_calls_no_other_host_and_carries_its_stylesheet(site: Site) -> None:
    plain = invoke(site.widget, http_event("GET", "/widget.js", route_key="GET /widget.js"))
    zipped_event = http_event(
        "GET", "/widget.js", route_key="GET /widget.js", headers={"accept-encoding": "gzip, br"}
    )
    zipped = site.widget.lambda_handler(zipped_event, LambdaContext())

    assert plain.status == 200 and plain.headers["content-type"].startswith("application/javascript")
    assert zipped["headers"]["Content-Encoding"] == "gzip" and zipped["isBase64Encoded"]
    compressed = base64.b64decode(zipped["body"])
    assert len(compressed) <= MAX_COMPRESSED_BYTES  # the 30 KB
    script = plain.body
    assert gzip.decompress(compressed).decode() == script
    assert "__LEADHUB_WIDGET_CSS__" not in script and ":host" in script
    code = script.split("*/", 1)[1]  # below the header comment (which shows the snippet)
    assert "://" not in code  # every request goes to the API the script was loaded from
    assert "innerHTML" not in code and "eval(" not in code  # messages are text, never markup


# -- who may call -------------------------------------------------------------------------------------


def test_a_preflight_is_answered_for_allowed_origins_only(site: Site) -> None:
    preflight = {"access-control-request-method": "POST", "access-control-request-headers": "content-type"}
    allowed = site.request("OPTIONS", "messages", headers=preflight)
    assert allowed.status == 204
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "X-Leadhub-Page" in allowed.headers["access-control-allow-headers"]
    assert allowed.headers["vary"] == "Origin"

    refused = site.request("OPTIONS", "messages", origin="https://evil.example", headers=preflight)
    assert refused.status == 403 and "access-control-allow-origin" not in refused.headers
    unknown = site.request("OPTIONS", "messages", key="lhw_" + "A" * 32, headers=preflight)
    assert unknown.status == 401 and "access-control-allow-origin" not in unknown.headers


def test_every_call_checks_the_origin_and_errors_carry_cors_headers_for_allowed_ones(site: Site) -> None:
    tokens = site.session()
    refused = site.request("GET", "messages", origin="https://evil.example", headers=tokens)
    assert refused.status == 403 and "access-control-allow-origin" not in refused.headers
    no_origin = site.request("GET", "messages", origin=None, headers=tokens)
    assert no_origin.status == 403
    expired = site.request("GET", "messages", headers={**tokens, "x-leadhub-page": "1.x.y"})
    assert expired.status == 401
    assert expired.headers["access-control-allow-origin"] == ORIGIN  # the widget can read why
    assert site.request("POST", "messages", b"{", headers=tokens).status == 400
    assert (
        site.request("POST", "messages", "{}", headers={**tokens, "content-type": "text/html"}).status == 415
    )
    assert site.request("POST", "messages", b"x" * 20_000, headers=tokens).status == 413


def test_a_widget_turned_off_or_a_rotated_key_is_refused(site: Site) -> None:
    assert site.put({"enabled": False, "allowedOrigins": [ORIGIN]}).status == 200
    off = site.request("POST", "session", {})
    assert off.status == 403 and off.headers["access-control-allow-origin"] == ORIGIN
    assert site.put({"enabled": True, "allowedOrigins": [ORIGIN]}).status == 200
    old = site.key
    rotated = site.api.call("POST", "/api/widget/rotate-key", api_key=site.account.api_key).body["widgetKey"]
    assert site.request("POST", "session", {}, key=old).status == 401
    assert site.request("POST", "session", {}, key=rotated).status == 200


def test_without_the_signing_secret_the_endpoints_answer_503(stack: Stack) -> None:
    api = Api(stack)
    account = api.create_account()
    body = {"enabled": True, "allowedOrigins": [ORIGIN]}
    key = api.call("PUT", "/api/widget", api_key=account.api_key, json_body=body).body["widgetKey"]
    widget = stack.load_function("WidgetFunction")
    event = http_event(
        "POST",
        f"/widget/v1/{key}/session",
        route_key="POST /widget/v1/{widgetKey}/{action}",
        headers={"origin": ORIGIN},
        path_parameters={"widgetKey": key, "action": "session"},
    )
    result = invoke(widget, event)
    assert result.status == 503 and result.headers["retry-after"] == "1"


# -- messages, the reply, polling --------------------------------------------------------------------


def test_a_message_is_answered_by_the_worker_and_found_by_the_poll(site: Site) -> None:
    rule = {"kind": "keyword", "match": "price", "reply": REPLY}
    assert (
        site.api.call("POST", "/api/automations", api_key=site.account.api_key, json_body=rule).status == 201
    )
    tokens = site.session()
    sent = site.request("POST", "messages", {"clientMessageId": "m-1", "text": "Price?"}, headers=tokens)
    assert sent.status == 201 and sent.body == {"stored": True, "messagesSent": 1, "captured": False}
    again = site.request("POST", "messages", {"clientMessageId": "m-1", "text": "Price?"}, headers=tokens)
    assert again.status == 200 and again.body["stored"] is False

    # The table's stream → the fan-out → a job on the conversation queue → the worker (web: no provider).
    fanout = site.stack.load_function("EventFanoutFunction")
    result = fanout.lambda_handler(
        stream_event(stream_records(site.stack), site.stack.stream_arn), LambdaContext()
    )
    assert result["batchItemFailures"] == []
    queue_url = site.stack.specs["ConversationWorkerFunction"].environment["CONVERSATION_QUEUE_URL"]
    sqs = shared_clients().client("sqs")
    jobs = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=10,
        AttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    )["Messages"]
    assert [json.loads(j["Body"])["channel"] for j in jobs] == ["web"]
    worker = site.stack.load_function("ConversationWorkerFunction")
    arn = f"arn:aws:sqs:us-east-1:123456789012:{queue_url.rsplit('/', 1)[1]}"
    assert worker.lambda_handler(sqs_event(jobs, arn), LambdaContext())["batchItemFailures"] == []

    polled = site.request("GET", "messages", headers=tokens)
    assert polled.status == 200 and polled.headers["cache-control"] == "no-store"
    assert [(m["from"], m["text"]) for m in polled.body["messages"]] == [
        ("visitor", "Price?"),
        ("bot", REPLY),
    ]
    after = {**tokens, "x-leadhub-after": polled.body["cursor"]}
    assert site.request("GET", "messages", headers=after).body["messages"] == []
    [conversation] = site.api.call(
        "GET", "/api/conversations", api_key=site.account.api_key, query="channel=web"
    ).body["items"]
    assert conversation["messageCount"] == 2
    [reply] = [
        m
        for m in site.api.call(
            "GET",
            f"/api/conversations/{conversation['conversationId']}/messages",
            api_key=site.account.api_key,
        ).body["items"]
        if m["direction"] == "outbound"
    ]
    assert (reply["status"], reply["providerMessageId"]) == ("sent", f"web:{reply['messageId']}")


def test_limits_answer_429_with_retry_after(site: Site) -> None:
    limits = {
        "messagesPerVisitorPerMinute": 2,
        "messagesPerIpPerMinute": 100,
        "newVisitorsPerIpPerMinute": 100,
    }
    assert site.put({"enabled": True, "allowedOrigins": [ORIGIN], "rateLimits": limits}).status == 200
    tokens = site.session()
    for n in range(2):
        body = {"clientMessageId": f"m{n}", "text": "hi"}
        assert site.request("POST", "messages", body, headers=tokens).status == 201
    limited = site.request("POST", "messages", {"clientMessageId": "m9", "text": "hi"}, headers=tokens)
    assert limited.status == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.headers["access-control-allow-origin"] == ORIGIN
    assert limited.headers["access-control-expose-headers"] == "Retry-After"


def test_leaving_details_stores_the_lead_and_attaches_the_conversation(site: Site) -> None:
    tokens = site.session()
    site.request("POST", "messages", {"clientMessageId": "m1", "text": "Hello"}, headers=tokens)
    details = {"name": "Ada", "email": "ada@example.com", "pageUrl": f"{ORIGIN}/?utm_source=ads"}
    left = site.request("POST", "contact", details, headers=tokens)
    assert left.status == 200 and left.body == {"captured": True}
    [lead] = site.api.call("GET", "/api/leads", api_key=site.account.api_key).body["items"]
    assert (lead["email"], lead["source"], lead["customFields"]) == (
        "ada@example.com",
        "website-widget",
        {"pageUrl": f"{ORIGIN}/?utm_source=ads", "utm_source": "ads"},
    )
    [conversation] = site.api.call(
        "GET", "/api/conversations", api_key=site.account.api_key, query=f"leadId={lead['leadId']}"
    ).body["items"]
    assert conversation["channel"] == "web"
    assert site.request("POST", "session", {}, headers=tokens).body["captured"] is True
    invalid = site.request("POST", "contact", {"email": "ada@", "phone": "12"}, headers=tokens)
    assert invalid.status == 400 and [d["field"] for d in invalid.body["details"]] == ["phone", "email"]


def test_after_an_agent_closes_the_conversation_the_visitors_next_message_opens_a_new_one(site: Site) -> None:
    tokens = site.session()
    site.request("POST", "messages", {"clientMessageId": "m1", "text": "Hello"}, headers=tokens)
    keyed = {"api_key": site.account.api_key}
    [first] = site.api.call("GET", "/api/conversations", query="channel=web", **keyed).body["items"]
    closed = site.api.call("POST", f"/api/conversations/{first['conversationId']}/close", **keyed)
    assert closed.status == 200 and closed.body["status"] == "closed"

    again = site.request("POST", "messages", {"clientMessageId": "m2", "text": "Me again"}, headers=tokens)
    assert again.status == 201 and again.body["messagesSent"] == 2
    conversations = site.api.call("GET", "/api/conversations", query="channel=web", **keyed).body["items"]
    assert sorted(c["status"] for c in conversations) == ["closed", "open"]
    polled = site.request("GET", "messages", headers=tokens).body["messages"]
    assert [m["text"] for m in polled] == ["Me again"]  # the visitor's current conversation


def test_a_visitors_messages_count_in_their_conversation_and_the_latest_is_its_preview(site: Site) -> None:
    tokens = site.session()
    for n, text in enumerate(("Hello", "Is it free?"), start=1):
        sent = site.request("POST", "messages", {"clientMessageId": f"c{n}", "text": text}, headers=tokens)
        assert sent.status == 201, sent.body
    [conversation] = site.stack.entities("conversation")
    assert conversation["messageCount"] == {"N": "2"}
    assert conversation["lastMessage"]["M"]["text"] == {"S": "Is it free?"}


def test_a_captured_visitors_messages_are_the_leads_activity_as_on_every_channel(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a WhatsApp or Telegram message does, a message from a visitor who left their details moves the
    lead's last activity, and one after 30 days of silence re-engages the lead."""
    now = [datetime(2026, 10, 1, 9, 0, tzinfo=UTC)]
    monkeypatch.setattr(site.widget, "utc_now", lambda: now[0])
    tokens = site.session()
    details = {"name": "Ada", "email": "ada@example.com"}
    assert site.request("POST", "contact", details, headers=tokens).status == 200
    keyed = {"api_key": site.account.api_key}
    [captured] = site.api.call("GET", "/api/leads", **keyed).body["items"]
    seen = len(stream_records(site.stack))

    now[0] += timedelta(days=31)
    tokens = site.session(tokens["x-leadhub-visitor"])  # the visitor is back (a page token lasts hours)
    sent = site.request("POST", "messages", {"clientMessageId": "m1", "text": "Still free?"}, headers=tokens)

    assert sent.status == 201, sent.body
    lead = site.api.call("GET", f"/api/leads/{captured['leadId']}", **keyed).body
    assert lead["lastActivityAt"] == lead["lastConversationAt"] == "2026-11-01T09:00:00.000Z"
    assert captured["lastActivityAt"] == "2026-10-01T09:00:00.000Z"
    facts = [
        fact
        for record in stream_records(site.stack)[seen:]
        for fact in lead_facts(
            lead_from_image(record["dynamodb"].get("OldImage")),
            lead_from_image(record["dynamodb"].get("NewImage")),
        )
    ]
    assert [(f.event, f.data["inactiveDays"]) for f in facts] == [("lead.re_engaged", 31)]
