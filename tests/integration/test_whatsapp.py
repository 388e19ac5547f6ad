"""WhatsApp end to end inside moto: connecting a number through the management API against a loopback
Graph API, Meta's handshake and signed notifications through the real handler, the stored items, the
conversations read API and the stream facts."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from leadhub.conversations.adapters.dynamodb_conversation_items import (
    conversation_from_image,
    conversation_pk,
    message_from_image,
    message_sk,
    message_to_values,
    provider_index_key,
)
from leadhub.conversations.models import Channel, Direction, Message
from leadhub.outbound.outbox import conversation_facts, message_facts
from leadhub.platform.adapters.dynamodb_items import to_item
from local.fake_providers import FakeGraphApi
from local.pollers import sqs_event
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
from tests.integration.test_event_fanout import add_endpoint, queued, stream_event
from tests.integration.test_outbox_stream import stream_records

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "whatsapp"
APP_SECRET = "meta-app-secret-for-tests"
VERIFY_TOKEN = "verify-token-for-tests"
WABA_ID, PHONE_NUMBER_ID, ACCESS_TOKEN = "1234567890987654321", "1122334455667", "EAAG-test-token"
ROUTE = "POST /api/webhooks/meta-whatsapp"


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / f"{name}.json").read_text())


@pytest.fixture
def graph() -> Iterator[FakeGraphApi]:
    fake = FakeGraphApi(WABA_ID, PHONE_NUMBER_ID, ACCESS_TOKEN)
    yield fake
    fake.close()


@pytest.fixture
def channel_api(stack: Stack, graph: FakeGraphApi) -> Api:
    api = Api(stack)
    api.management = stack.load_function("ManagementApiFunction", GRAPH_API_BASE_URL=graph.base_url)
    return api


@pytest.fixture
def whatsapp(stack: Stack) -> ModuleType:
    ssm = shared_clients().client("ssm")
    env = stack.specs["WhatsappWebhookFunction"].environment
    ssm.put_parameter(Name=env["META_APP_SECRET_PARAMETER"], Value=APP_SECRET, Type="SecureString")
    ssm.put_parameter(Name=env["META_VERIFY_TOKEN_PARAMETER"], Value=VERIFY_TOKEN, Type="SecureString")
    return stack.load_function("WhatsappWebhookFunction")


def connect(api: Api, account: Account, **overrides: str) -> HttpResult:
    body = {"wabaId": WABA_ID, "phoneNumberId": PHONE_NUMBER_ID, "accessToken": ACCESS_TOKEN, **overrides}
    return api.call("PUT", "/api/integrations/whatsapp", api_key=account.api_key, json_body=body)


def post(
    module: ModuleType, payload: Any, *, signature: str | None = None, base64_body: bool = False
) -> HttpResult:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if signature is None:
        signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"content-type": "application/json", "x-hub-signature-256": signature}
    event = http_event(
        "POST",
        "/api/webhooks/meta-whatsapp",
        route_key=ROUTE,
        headers=headers,
        body=body,
        base64_body=base64_body,
    )
    return invoke(module, event)


@pytest.fixture
def connected(channel_api: Api) -> Account:
    account = channel_api.create_account("Acme Realty")
    result = connect(channel_api, account)
    assert result.status == 200, result.body
    return account


# -- connecting -------------------------------------------------------------------------------


def test_connecting_checks_the_token_with_the_graph_api_and_stores_it_encrypted(
    stack: Stack, channel_api: Api, graph: FakeGraphApi
) -> None:
    account = channel_api.create_account()
    result = connect(channel_api, account)

    assert result.status == 200
    assert result.body == {
        "channel": "whatsapp",
        "wabaId": WABA_ID,
        "phoneNumberId": PHONE_NUMBER_ID,
        "displayPhoneNumber": "+1 555-0100",
        "verifiedName": "Acme",
        "connectedAt": result.body["connectedAt"],
        "webhookUrl": "https://id.execute-api.us-east-1.amazonaws.com/api/webhooks/meta-whatsapp",
    }
    assert [c.headers["authorization"] for c in graph.calls] == [f"Bearer {ACCESS_TOKEN}"] * 2
    assert [(c.method, c.path) for c in graph.calls] == [
        ("GET", f"/v23.0/{WABA_ID}/phone_numbers"),
        ("POST", f"/v23.0/{WABA_ID}/subscribed_apps"),
    ]
    [integration] = stack.entities("integration")
    assert ACCESS_TOKEN.encode() not in integration["credential"]["B"]
    assert ACCESS_TOKEN not in json.dumps(stack.items(), default=str)
    again = channel_api.call("GET", "/api/integrations/whatsapp", api_key=account.api_key)
    assert (again.status, again.body) == (200, result.body)


def test_a_token_the_graph_api_refuses_is_400_with_metas_message(channel_api: Api, stack: Stack) -> None:
    account = channel_api.create_account()
    result = connect(channel_api, account, accessToken="EAAG-wrong")
    assert result.status == 400
    assert result.body["details"] == [
        {
            "field": "accessToken",
            "message": "Graph API: Invalid OAuth access token - Cannot parse access token",
        }
    ]
    assert stack.entities("integration") == []


def test_a_number_outside_the_business_account_is_400(channel_api: Api) -> None:
    account = channel_api.create_account()
    result = connect(channel_api, account, phoneNumberId="999")
    assert result.status == 400
    assert result.body["details"][0]["field"] == "phoneNumberId"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"wabaId": "abc"}, "wabaId"), ({"accessToken": ""}, "accessToken"), ({"extra": 1}, "extra")],
)
def test_malformed_connection_requests_are_400(channel_api: Api, body: dict[str, Any], field: str) -> None:
    account = channel_api.create_account()
    result = connect(channel_api, account, **body)
    assert result.status == 400
    assert field in json.dumps(result.body["details"])


@pytest.mark.parametrize("token", ["EAAG-tökén", "EAAG-тест", "EAAG test", "EAAG\r\nX-Injected: 1"])
def test_an_access_token_that_cannot_be_a_header_is_400_without_calling_meta(
    channel_api: Api, graph: FakeGraphApi, stack: Stack, token: str
) -> None:
    account = channel_api.create_account()

    result = connect(channel_api, account, accessToken=token)

    assert result.status == 400
    assert result.body["details"] == [
        {"field": "accessToken", "message": "visible ASCII characters only (no spaces or line breaks)"}
    ]
    assert graph.calls == []
    assert stack.entities("integration") == []


def test_a_number_belongs_to_one_account(channel_api: Api, connected: Account) -> None:
    other = channel_api.create_account("Other")
    assert connect(channel_api, other).status == 409
    assert connect(channel_api, connected).status == 200  # reconnecting is fine


def test_disconnecting_stops_routing_and_a_missing_integration_is_404(
    channel_api: Api, connected: Account, whatsapp: ModuleType, stack: Stack
) -> None:
    assert channel_api.call("DELETE", "/api/integrations/whatsapp", api_key=connected.api_key).status == 200
    assert channel_api.call("GET", "/api/integrations/whatsapp", api_key=connected.api_key).status == 404
    unknown = channel_api.call("GET", "/api/integrations/sms", api_key=connected.api_key)
    assert (unknown.status, unknown.body["details"][0]["field"]) == (400, "channel")
    fresh = stack.load_function("WhatsappWebhookFunction")  # no cached route
    result = post(fresh, sample("text-pywa"))
    assert (result.status, result.body["ignored"]) == (200, 1)
    assert stack.entities("message") == []


def test_the_integration_routes_need_the_integrations_scope(channel_api: Api, connected: Account) -> None:
    created = channel_api.call(
        "POST",
        "/api/api-keys",
        api_key=connected.api_key,
        json_body={"name": "reader", "scopes": ["leads:read"]},
    )
    result = connect(channel_api, Account(connected.account_id, created.body["apiKey"], "", {}))
    assert result.status == 403


# -- the webhook ------------------------------------------------------------------------------


def test_the_handshake_echoes_the_challenge_as_plain_text(whatsapp: ModuleType) -> None:
    query = f"hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={VERIFY_TOKEN}"
    event = http_event(
        "GET", "/api/webhooks/meta-whatsapp", route_key="GET /api/webhooks/meta-whatsapp", query=query
    )
    result = invoke(whatsapp, event)
    assert (result.status, result.headers["content-type"], result.body) == (200, "text/plain", 1158201444)
    wrong = http_event(
        "GET",
        "/api/webhooks/meta-whatsapp",
        route_key="GET /api/webhooks/meta-whatsapp",
        query="hub.mode=subscribe&hub.challenge=1&hub.verify_token=nope",
    )
    assert invoke(whatsapp, wrong).status == 403


def test_a_signed_text_is_stored_as_lead_conversation_and_message(
    stack: Stack, channel_api: Api, connected: Account, whatsapp: ModuleType
) -> None:
    result = post(whatsapp, sample("text-pywa"), base64_body=True)

    assert result.status == 200
    assert result.body == {"received": True, "stored": 1, "duplicates": 0, "statuses": 0, "ignored": 0}
    conversations = channel_api.call("GET", "/api/conversations", api_key=connected.api_key)
    [conversation] = conversations.body["items"]
    assert (conversation["channel"], conversation["status"], conversation["messageCount"]) == (
        "whatsapp",
        "open",
        1,
    )
    messages = channel_api.call(
        "GET", f"/api/conversations/{conversation['conversationId']}/messages", api_key=connected.api_key
    )
    [message] = messages.body["items"]
    assert (message["text"], message["direction"], message["type"], message["status"]) == (
        "Body Text",
        "inbound",
        "text",
        "received",
    )
    lead = channel_api.call("GET", f"/api/leads/{conversation['leadId']}", api_key=connected.api_key).body
    assert (lead["phone"], lead["name"], lead["source"]) == ("+972987654321", "Test Name", "whatsapp")
    audit = channel_api.call("GET", "/api/audit", api_key=connected.api_key).body["items"]
    assert any(e["action"] == "lead.created" and e["source"] == "whatsapp" for e in audit)


def test_a_redelivery_is_200_and_stores_nothing_new(
    stack: Stack, connected: Account, whatsapp: ModuleType
) -> None:
    post(whatsapp, sample("text-pywa"))
    before = stack.items()
    again = post(whatsapp, sample("text-pywa"))
    assert (again.status, again.body["duplicates"]) == (200, 1)
    assert stack.items() == before


@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64])
def test_a_bad_signature_is_401_and_writes_nothing(
    stack: Stack, connected: Account, whatsapp: ModuleType, signature: str
) -> None:
    before = stack.items()
    result = post(whatsapp, sample("text-pywa"), signature=signature)
    assert result.status == 401
    assert stack.items() == before


def test_malformed_json_with_a_valid_signature_is_400(connected: Account, whatsapp: ModuleType) -> None:
    result = post(whatsapp, b'{"object": ')
    assert result.status == 400 and result.body["error"].startswith("Body is not valid JSON")


def test_without_the_app_secret_posts_are_503_so_meta_retries(stack: Stack, connected: Account) -> None:
    module = stack.load_function("WhatsappWebhookFunction", META_APP_SECRET_PARAMETER="/leadhub/missing")
    result = post(module, sample("text-pywa"))
    assert result.status == 503
    assert stack.entities("message") == []


def test_a_new_message_costs_at_most_three_dynamodb_requests_warm(
    connected: Account, whatsapp: ModuleType, dynamo_calls
) -> None:
    post(whatsapp, sample("text-pywa"))  # warms the route cache
    second = copy.deepcopy(sample("text-pywa"))
    second["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.second"
    third = copy.deepcopy(second)
    third["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.third"
    third["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] = "14155550100"
    third["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = "14155550100"

    _, existing_lead = dynamo_calls.during(lambda: post(whatsapp, second))
    _, new_lead = dynamo_calls.during(lambda: post(whatsapp, third))

    assert existing_lead == ["GetItem", "TransactWriteItems"]
    assert new_lead == ["GetItem", "TransactWriteItems"]


def test_a_user_without_a_number_stays_one_lead_when_the_number_appears_later(
    channel_api: Api, connected: Account, whatsapp: ModuleType, stack: Stack, dynamo_calls
) -> None:
    post(whatsapp, sample("text-pywa"))  # warms the route cache
    _, first = dynamo_calls.during(lambda: post(whatsapp, sample("text-username-bsuid-meta-docs")))
    _, later = dynamo_calls.during(lambda: post(whatsapp, sample("text-phone-and-bsuid-meta-docs")))
    assert first == later == ["GetItem", "GetItem", "TransactWriteItems"]  # identity, lead, commit

    [identity] = stack.entities("lead_identity")
    lead = channel_api.call("GET", f"/api/leads/{identity['leadId']['S']}", api_key=connected.api_key).body
    assert (lead["phone"], lead["name"], lead["channelIds"], lead["usernames"]) == (
        "+16505551234",
        "Sheena Nelson",
        {"whatsapp": "US.13491208655302741918"},
        {"whatsapp": "sheena.nelson"},
    )
    assert len(stack.entities("lead")) == 2  # this one and the text-pywa writer's
    conversations = [c for c in stack.entities("conversation") if c["leadId"]["S"] == lead["leadId"]]
    assert [c["messageCount"]["N"] for c in conversations] == ["2"]


def test_isolation_other_accounts_see_none_of_it(
    channel_api: Api, connected: Account, whatsapp: ModuleType
) -> None:
    post(whatsapp, sample("text-pywa"))
    [conversation] = channel_api.call("GET", "/api/conversations", api_key=connected.api_key).body["items"]
    other = channel_api.create_account("Other")
    assert channel_api.call("GET", "/api/conversations", api_key=other.api_key).body["items"] == []
    cid = conversation["conversationId"]
    assert channel_api.call("GET", f"/api/conversations/{cid}", api_key=other.api_key).status == 404
    assert channel_api.call("GET", f"/api/conversations/{cid}/messages", api_key=other.api_key).status == 404


def test_statuses_move_our_message_forward_only_and_become_facts(
    stack: Stack, connected: Account, whatsapp: ModuleType
) -> None:
    post(whatsapp, sample("text-pywa"))
    [inbound] = stack.entities("message")
    ours = Message(
        account_id=connected.account_id,
        conversation_id=inbound["conversationId"]["S"],
        message_id="msg_ours",
        lead_id=inbound["leadId"]["S"],
        channel=Channel.WHATSAPP,
        direction=Direction.OUTBOUND,
        type="text",
        sent_at="2023-10-25T20:46:00.000Z",
        received_at="2023-10-25T20:46:00.000Z",
        status="sent",
        provider_message_id="wamid.ours",
        text="Thanks!",
    )
    db = shared_clients().client("dynamodb")
    db.put_item(TableName=stack.table_name, Item=to_item(message_to_values(ours)))
    index = provider_index_key(ours.account_id, Channel.WHATSAPP, "wamid.ours")
    pointer = {
        "messagePk": {"S": conversation_pk(ours.account_id, ours.conversation_id)},
        "messageSk": {"S": message_sk(ours)},
    }
    db.put_item(TableName=stack.table_name, Item={**index, **pointer})
    read = sample("status-delivered-pywa")
    status = read["entry"][0]["changes"][0]["value"]["statuses"][0]
    status.update(id="wamid.ours", status="read", timestamp="1698266999")
    delivered = copy.deepcopy(read)
    delivered["entry"][0]["changes"][0]["value"]["statuses"][0].update(
        status="delivered", timestamp="1698266945"
    )

    assert post(whatsapp, read).body["statuses"] == 1
    assert post(whatsapp, delivered).body["statuses"] == 0
    stored = [m for m in stack.entities("message") if m["messageId"]["S"] == "msg_ours"]
    assert stored[0]["status"]["S"] == "read"


def test_stream_records_of_a_new_message_mean_conversation_created_and_message_received(
    stack: Stack, connected: Account, whatsapp: ModuleType
) -> None:
    post(whatsapp, sample("text-pywa"))
    shard = stack.streams.describe_stream(StreamArn=stack.stream_arn)["StreamDescription"]["Shards"][0]
    iterator = stack.streams.get_shard_iterator(
        StreamArn=stack.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = stack.streams.get_records(ShardIterator=iterator)["Records"]
    facts = []
    for record in records:
        images = record["dynamodb"]
        old, new = images.get("OldImage"), images.get("NewImage")
        facts += conversation_facts(conversation_from_image(old), conversation_from_image(new))
        facts += message_facts(message_from_image(old), message_from_image(new))
    assert [f.event for f in facts] == ["conversation.created", "message.received"]
    assert facts[1].data["text"] == "Body Text"
    assert facts[0].data["conversationId"] == facts[1].data["conversationId"]


# -- what Meta (or anyone with the app secret) may send: stored, bounded, or refused, never a 5xx ----


def _messages(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return payload["entry"][0]["changes"][0]["value"]["messages"]


def test_a_location_with_float_coordinates_is_stored_exactly_and_fans_out(
    stack: Stack, channel_api: Api, connected: Account, whatsapp: ModuleType
) -> None:
    add_endpoint(stack, connected, "wep_crm")
    seen = len(stream_records(stack))
    result = post(whatsapp, sample("location-pywa"))

    assert (result.status, result.body["stored"]) == (200, 1)
    [item] = stack.entities("message")
    content = item["content"]["M"]
    assert (content["latitude"], content["longitude"]) == ({"N": "37.4611978"}, {"N": "-122.2164385"})
    [conversation] = channel_api.call("GET", "/api/conversations", api_key=connected.api_key).body["items"]
    messages = channel_api.call(
        "GET", f"/api/conversations/{conversation['conversationId']}/messages", api_key=connected.api_key
    ).body["items"]
    assert messages[0]["content"]["latitude"] == 37.4611978  # read back as a JSON number
    fanout = stack.load_function("EventFanoutFunction")
    event = stream_event(stream_records(stack)[seen:], stack.stream_arn)
    assert fanout.lambda_handler(event, LambdaContext()) == {"batchItemFailures": []}
    received = [j for j in queued(stack) if j["envelope"]["event"] == "message.received"]
    assert received[0]["envelope"]["data"]["content"]["longitude"] == -122.2164385
    deliveries = [d for d in stack.entities("delivery") if d["event"]["S"] == "message.received"]
    assert deliveries[0]["envelope"]["M"]["data"]["M"]["content"]["M"]["latitude"] == {"N": "37.4611978"}


@pytest.mark.parametrize(
    ("message", "contact_name", "text"),
    [
        ({"type": "text", "text": {"body": "hi \ud800 there"}}, "Test Name", "hi \ufffd there"),
        ({"type": "text", "text": {"body": "hi"}}, "Ada \udfff", "hi"),
        (
            {"type": "reaction", "reaction": {"message_id": "wamid.1", "emoji": "\ud83d"}},
            "Test Name",
            "\ufffd",
        ),
    ],
    ids=["text", "contact name", "reaction"],
)
def test_lone_surrogates_are_stored_as_the_replacement_character(
    stack: Stack, channel_api: Api, connected: Account, whatsapp: ModuleType, message, contact_name, text
) -> None:
    payload = sample("text-pywa")
    _messages(payload)[0] = {"from": "972987654321", "id": "wamid.s", "timestamp": "1697043223", **message}
    payload["entry"][0]["changes"][0]["value"]["contacts"][0]["profile"]["name"] = contact_name
    result = post(whatsapp, payload)  # json.dumps writes the surrogates as \ud800 escapes

    assert (result.status, result.body["stored"]) == (200, 1)
    [item] = stack.entities("message")
    assert item["text"]["S"] == text
    [lead] = stack.entities("lead")
    assert lead["name"]["S"] == contact_name.replace("\udfff", "\ufffd")


def test_a_message_id_too_long_is_ignored_alone_and_the_others_are_stored(
    stack: Stack, connected: Account, whatsapp: ModuleType
) -> None:
    payload = sample("text-pywa")
    good = _messages(payload)[0]
    _messages(payload)[:] = [{**good, "id": "w" * 5000}, {**good, "id": "wamid.fine"}]
    result = post(whatsapp, payload)

    assert result.status == 200
    assert result.body == {"received": True, "stored": 1, "duplicates": 0, "statuses": 0, "ignored": 1}
    assert [m["providerMessageId"]["S"] for m in stack.entities("message")] == ["wamid.fine"]


def test_long_texts_are_stored_cut_with_a_marker_and_huge_raw_content_is_omitted(
    stack: Stack, connected: Account, whatsapp: ModuleType
) -> None:
    payload = sample("text-pywa")
    good = _messages(payload)[0]
    _messages(payload)[:] = [
        {**good, "id": "wamid.long", "text": {"body": "x" * 100_000}},
        {**good, "id": "wamid.raw", "type": "future_type", "future_type": {"parts": ["y" * 10_000] * 10}},
    ]
    result = post(whatsapp, payload)

    assert (result.status, result.body["stored"]) == (200, 2)
    stored = {m["providerMessageId"]["S"]: m for m in stack.entities("message")}
    assert stored["wamid.long"]["text"]["S"] == "x" * (20_000 - len("…[truncated]")) + "…[truncated]"
    assert stored["wamid.raw"]["content"]["M"] == {"omitted": {"L": [{"S": "raw"}]}}


@pytest.mark.parametrize(
    "body",
    [
        b'{"object": "whatsapp_business_account", "entry": ' + b"[" * 1000 + b"]" * 1000 + b"}",
        b'{"object": "whatsapp_business_account", "entry": [], "n": ' + b"1" * 5000 + b"}",
    ],
    ids=["1000 levels", "5000 digits"],
)
def test_bodies_beyond_the_parser_limits_are_400_and_unsigned_ones_stay_401(
    stack: Stack, connected: Account, whatsapp: ModuleType, body: bytes
) -> None:
    before = stack.items()
    refused = post(whatsapp, body)
    assert refused.status == 400 and refused.body["error"].startswith("Body is not valid JSON")
    assert post(whatsapp, body, signature="sha256=" + "0" * 64).status == 401
    assert stack.items() == before


def test_a_message_the_table_refuses_is_acknowledged_ignored_and_logged_with_the_reason(
    stack: Stack, connected: Account, whatsapp: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    """A number of more than 38 digits cannot be stored exactly: the table refuses the message (an input
    error, not a storage failure), so Meta gets a 200 and never retries it in vain."""
    payload = sample("location-pywa")
    _messages(payload)[0]["location"]["latitude"] = 10**40 + 1
    result = post(whatsapp, payload)

    assert (result.status, result.body["stored"], result.body["ignored"]) == (200, 0, 1)
    assert stack.entities("message") == []
    [warning] = [r for r in caplog.records if r.getMessage() == "whatsapp messages ignored as unstorable"]
    assert warning.reasons == {"A number cannot be stored exactly (at most 38 digits)": 1}  # type: ignore[attr-defined]


def test_statuses_meta_reports_before_our_send_is_recorded_are_kept(
    stack: Stack, channel_api: Api, graph: FakeGraphApi, connected: Account, whatsapp: ModuleType
) -> None:
    """Meta may post "sent" and "delivered" before the Graph API's answer to our send reaches us, so before
    we record the send and its wamid: the statuses still land, and never move the message backwards."""
    post(whatsapp, sample("text-pywa"))
    [conversation] = channel_api.call("GET", "/api/conversations", api_key=connected.api_key).body["items"]
    reported: list[int] = []

    def report_now(status: dict[str, Any]) -> None:  # the fake calls this before it answers the send
        for step, at in (("delivered", "1698266950"), ("sent", "1698266945")):
            notification = sample("status-delivered-pywa")
            notification["entry"][0]["changes"][0]["value"]["statuses"][0].update(
                id=status["id"], status=step, timestamp=at
            )
            reported.append(post(whatsapp, notification).status)

    graph.on_status = report_now
    path = f"/api/conversations/{conversation['conversationId']}/messages"
    assert (
        channel_api.call("POST", path, api_key=connected.api_key, json_body={"text": "On my way"}).status
        == 202
    )
    worker = stack.load_function("ConversationWorkerFunction", GRAPH_API_BASE_URL=graph.base_url)
    queue_url = stack.specs["ConversationWorkerFunction"].environment["CONVERSATION_QUEUE_URL"]
    jobs = (
        shared_clients()
        .client("sqs")
        .receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    )
    arn = f"arn:aws:sqs:us-east-1:123456789012:{queue_url.rsplit('/', 1)[1]}"
    result = worker.lambda_handler(sqs_event(jobs, arn), LambdaContext())
    assert result["batchItemFailures"] == [], (reported, graph.sent)

    assert reported == [200, 200] and [m["id"] for m in graph.sent] == ["wamid.fake-1"]
    messages = channel_api.call("GET", path, api_key=connected.api_key).body["items"]
    ours = [m for m in messages if m["direction"] == "outbound"]
    assert [(m["providerMessageId"], m["status"]) for m in ours] == [("wamid.fake-1", "delivered")]
