"""The OpenAPI document tells the truth: the statuses an operation declares are the ones it answers (with
the error body), the inbound webhooks' answers match their descriptions, and the event catalog lists every
event the code emits, with schemas that the real payloads match."""

from __future__ import annotations

import ast
import inspect
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from openapi_spec_validator import validate as validate_spec

from leadhub.outbound import outbox
from leadhub.outbound.adapters.dynamodb_endpoints import DynamoEndpointRepository
from leadhub.outbound.endpoint_verification import VERIFY_EVENT
from leadhub.outbound.models import SUBSCRIBABLE_EVENTS
from leadhub.platform.timestamps import utc_now
from local.fake_providers import FakeTelegramBotApi
from tests.integration.conftest import Account, Api, Stack, http_event, invoke
from tests.integration.test_conversation_worker import bot_api, pipeline_with  # noqa: F401 - a fixture
from tests.integration.test_event_fanout import queued
from tests.integration.test_whatsapp import post as post_whatsapp
from tests.integration.test_whatsapp import whatsapp  # noqa: F401 - a fixture
from tests.openapi_document import validate, validate_event, validate_response
from tests.receiver import Receiver

LEAD_WEBHOOK = "/api/webhooks/leads/{token}"


@pytest.fixture
def document(api: Api) -> dict[str, Any]:
    result = api.call("GET", "/api/openapi.json")
    assert result.status == 200
    return result.body


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate_spec(document)  # raises on any violation (e.g. a default that contradicts its type)


def test_no_operation_declares_the_422_it_never_answers(document: dict[str, Any]) -> None:
    declared = {status for _, _, operation in operations(document) for status in operation["responses"]}
    assert "422" not in declared
    assert not {"HTTPValidationError", "ValidationError"} & set(document["components"]["schemas"])


def test_every_error_answer_is_the_error_body(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert response["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorOut"
                }, (method, path, status)
            if status == "503":
                assert "Retry-After" in response["headers"]
    error = document["components"]["schemas"]["ErrorOut"]
    assert error["required"] == ["error"] and "details" in error["properties"]


def test_management_operations_declare_their_real_success_and_auth_statuses(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        if path.startswith("/api/webhooks/") or not path.startswith("/api/"):  # served by other functions
            continue
        statuses = set(operation["responses"])
        assert {"401", "503"} <= statuses, (method, path)
        if path != "/api/admin/accounts":
            assert "403" in statuses, (method, path)  # the key's scope
    paths = document["paths"]
    assert set(paths["/api/admin/accounts"]["post"]["responses"]) == {"201", "400", "401", "415", "503"}
    assert "201" in paths["/api/webhook-endpoints"]["post"]["responses"]
    assert "202" in paths["/api/conversations/{conversationId}/messages"]["post"]["responses"]
    removed = paths["/api/api-keys/{keyId}"]["delete"]["responses"]
    assert "content" not in removed["204"] and "200" not in removed
    assert "409" in paths["/api/integrations/telegram"]["put"]["responses"]


def test_the_description_names_the_three_parts(document: dict[str, Any]) -> None:
    description = document["info"]["description"]
    for part in (
        "Management API",
        "Inbound webhooks",
        "Website widget",
        "Events",
        "X-API-Key",
        "webhook-signature",
    ):
        assert part in description


def test_real_errors_match_the_documented_error_body(
    api: Api, account: Account, document: dict[str, Any]
) -> None:
    invalid = api.call("POST", "/api/api-keys", api_key=account.api_key, json_body={"name": "", "scopes": []})
    assert invalid.status == 400
    validate_response(document, "POST", "/api/api-keys", 400, invalid.body)
    assert {d["field"] for d in invalid.body["details"]} == {"name", "scopes"}
    missing = api.call("GET", "/api/leads/lead_nope", api_key=account.api_key)
    validate_response(document, "GET", "/api/leads/{leadId}", missing.status, missing.body)
    unauthorized = api.call("GET", "/api/leads")
    validate_response(document, "GET", "/api/leads", unauthorized.status, unauthorized.body)
    created = api.call(
        "POST", "/api/api-keys", api_key=account.api_key, json_body={"name": "CI", "scopes": ["leads:read"]}
    )
    validate_response(document, "POST", "/api/api-keys", created.status, created.body)
    revoked = api.call("DELETE", f"/api/api-keys/{created.body['keyId']}", api_key=account.api_key)
    assert (
        revoked.status == 204 and "204" in document["paths"]["/api/api-keys/{keyId}"]["delete"]["responses"]
    )


def test_the_lead_webhook_answers_as_documented(api: Api, account: Account, document: dict[str, Any]) -> None:
    token = account.webhook_token
    answers = [
        api.post_lead(token, {"phone": "+14155550111", "name": "Ada", "extra": {"nested": 1}}),  # 201
        api.post_lead(
            token, "phone=%2B14155550111&name=Ada+L", content_type="application/x-www-form-urlencoded"
        ),
        api.post_lead(token, {"phone": "not a phone"}),  # 400
        api.post_lead("lht_" + "x" * 32, {"phone": "+14155550111"}),  # 401
        api.post_lead(token, {"phone": "+14155550111", "pad": "x" * 70_000}),  # 413
        api.post_lead(token, "<lead/>", content_type="application/xml"),  # 415
    ]
    assert [a.status for a in answers] == [201, 200, 400, 401, 413, 415]
    for answer in answers:
        validate_response(document, "POST", LEAD_WEBHOOK, answer.status, answer.body)
    assert answers[0].body["ignoredFields"] == ["extra"]


def test_the_channel_webhooks_answer_as_documented(
    stack: Stack,
    document: dict[str, Any],
    whatsapp: Any,  # noqa: F811 - the fixture
) -> None:
    handshake = http_event(
        "GET",
        "/api/webhooks/meta-whatsapp",
        route_key="GET /api/webhooks/meta-whatsapp",
        query="hub.mode=subscribe&hub.challenge=1&hub.verify_token=nope",
    )
    refused = invoke(whatsapp, handshake)
    validate_response(document, "GET", "/api/webhooks/meta-whatsapp", refused.status, refused.body)
    unsigned = post_whatsapp(
        whatsapp, {"object": "whatsapp_business_account", "entry": []}, signature="sha256=00"
    )
    validate_response(document, "POST", "/api/webhooks/meta-whatsapp", unsigned.status, unsigned.body)
    ignored = post_whatsapp(whatsapp, {"object": "whatsapp_business_account", "entry": []})
    assert ignored.status == 200
    validate_response(document, "POST", "/api/webhooks/meta-whatsapp", 200, ignored.body)
    not_json = post_whatsapp(whatsapp, b"{")
    validate_response(document, "POST", "/api/webhooks/meta-whatsapp", not_json.status, not_json.body)

    telegram = stack.load_function("TelegramWebhookFunction")
    for headers in ({}, {"x-telegram-bot-api-secret-token": "unknown"}):
        event = http_event(
            "POST",
            "/api/webhooks/telegram",
            route_key="POST /api/webhooks/telegram",
            headers=headers,
            body="{}",
        )
        answer = invoke(telegram, event)
        assert answer.status == 401
        validate_response(document, "POST", "/api/webhooks/telegram", 401, answer.body)

    email = stack.load_function("EmailWebhookFunction")
    event = http_event("POST", "/api/webhooks/email", route_key="POST /api/webhooks/email", body="{}")
    answer = invoke(email, event)
    assert answer.status in (401, 503)  # unsigned; 503 where the deployment has no webhook secret
    validate_response(document, "POST", "/api/webhooks/email", answer.status, answer.body)


# -- the event catalog -------------------------------------------------------------------------


def emitted_events() -> set[str]:
    """Every event type the code can emit: each `Fact(EVENT, …)` the outbox builds, and the handshake."""
    tree = ast.parse(inspect.getsource(outbox))
    facts = [
        node.args[0].id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Fact" and node.args
    ]
    return {getattr(outbox, name) for name in facts} | {VERIFY_EVENT}


def test_the_catalog_lists_every_event_the_code_emits_and_no_other(document: dict[str, Any]) -> None:
    catalog = set(document["webhooks"])
    assert catalog == emitted_events()
    assert catalog == {
        *SUBSCRIBABLE_EVENTS,
        VERIFY_EVENT,
    }  # what endpoints can subscribe to, and the handshake
    for event, entry in document["webhooks"].items():
        headers = {p["name"] for p in entry["post"]["parameters"] if p["in"] == "header"}
        assert headers >= {"webhook-id", "webhook-timestamp", "webhook-signature", "X-Leadhub-Signature"}, (
            event
        )
        assert {"X-Leadhub-Event", "X-Leadhub-Delivery-Id"} <= headers, event


def test_real_events_match_their_catalog_schemas(
    stack: Stack,
    bot_api: FakeTelegramBotApi,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each event type, emitted by the real handlers (lead webhook, Telegram webhook, conversation worker,
    management API) and fanned out by the real fan-out to a subscribed endpoint, matches its schema; so do
    the handshake and a test send, as a loopback receiver gets them."""
    # Endpoints at loopback receivers; the pro plan, for two of them.
    pipeline = pipeline_with(
        stack, bot_api, plan="pro", management_env={"ALLOW_PRIVATE_WEBHOOK_TARGETS": "true"}
    )
    api, account, key = pipeline.api, pipeline.account, pipeline.account.api_key
    document = api.call("GET", "/api/openapi.json").body

    with Receiver() as receiver:
        everything = {"name": "CRM", "url": receiver.url}
        created = api.call("POST", "/api/webhook-endpoints", api_key=key, json_body=everything)
        assert created.status == 201 and created.body["receivesEvents"], created.body
        endpoint_id = created.body["endpointId"]
        assert api.call("POST", f"/api/webhook-endpoints/{endpoint_id}/test", api_key=key).body["delivered"]
        [handshake] = receiver.events(VERIFY_EVENT)
        [test_send] = receiver.events(outbox.LEAD_CREATED)
        other = {"name": "Other", "url": receiver.url, "events": [outbox.LEAD_CREATED]}
        other_id = api.call("POST", "/api/webhook-endpoints", api_key=key, json_body=other).body["endpointId"]
    for delivered in (handshake, test_send):
        validate_event(document, json.loads(delivered.body))
    assert json.loads(test_send.body)["test"] is True

    # Leads: created, updated, and back after 31 days of silence.
    api.post_lead(account.webhook_token, {"phone": "+14155550123"})
    api.post_lead(account.webhook_token, {"phone": "+14155550123", "name": "Ada", "tags": ["vip"]})
    later = utc_now() + timedelta(days=31)
    monkeypatch.setattr(api.webhook, "utc_now", lambda: later)
    api.post_lead(account.webhook_token, {"phone": "+14155550123", "plan": "gold"})
    # A conversation: the lead writes, an automation answers (sent), a second lead's reply fails.
    pipeline.write(1001, "What is the price?")
    pipeline.fan_out()
    assert pipeline.work(pipeline.receive(1)) == []
    blocked = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
    bot_api.route("POST", r"/bot(?P<token>[^/]+)/sendMessage", lambda call, match: (403, blocked))
    pipeline.write(1002, "price?")
    pipeline.fan_out()
    assert pipeline.work(pipeline.receive(1)) == []
    [conversation, *_] = api.call("GET", "/api/conversations", api_key=key).body["items"]
    assert (
        api.call("POST", f"/api/conversations/{conversation['conversationId']}/close", api_key=key).status
        == 200
    )
    # Leadhub disables the other endpoint (its URL answered 410): announced to this one.
    endpoints = DynamoEndpointRepository(stack.table_name)
    gone = endpoints.get(account.account_id, other_id)
    disabled = replace(
        gone, enabled=False, disabled_reason="gone: the endpoint answered 410", version=gone.version + 1
    )
    assert endpoints.replace(disabled, gone.version)
    pipeline.fan_out()

    envelopes = [job["envelope"] for job in queued(stack) if job["endpointId"] == endpoint_id]
    for envelope in envelopes:
        validate_event(document, envelope)
    assert {e["event"] for e in envelopes} == set(SUBSCRIBABLE_EVENTS)


def test_a_payload_that_breaks_its_schema_is_caught(document: dict[str, Any]) -> None:
    """The check above can fail: a lead.created without its lead's fields does not pass."""
    envelope = {"id": "evt_1", "event": "lead.created", "timestamp": "t", "accountId": "acc_1", "data": {}}
    with pytest.raises(Exception, match="required property"):
        validate_event(document, envelope)
    with pytest.raises(Exception, match=r"'lead\.updated' was expected"):
        validate(
            document,
            document["webhooks"]["lead.updated"]["post"]["requestBody"]["content"]["application/json"][
                "schema"
            ],
            envelope,
        )
