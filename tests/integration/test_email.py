"""Email inside moto: connecting a domain against a loopback Resend, the signed webhook through the real
handler, the fan-out asking for the content, the content worker fetching it, and replies threading."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from leadhub.channels.email.adapters.resend_api import ResendApi
from leadhub.conversations.adapters.dynamodb_conversation_items import message_from_image
from leadhub.outbound.outbox import message_facts
from local.fake_providers import FakeResendApi, resend_error, svix_headers
from local.pollers import sqs_event as poller_event
from tests.fakes import StaticSecret
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
from tests.integration.test_event_fanout import stream_event
from tests.integration.test_outbox_stream import stream_records

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "resend"
API_KEY = "re_test_key"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"w" * 32).decode()
RECEIVING = "inbound.leadhub.test"


@pytest.fixture
def resend() -> Iterator[FakeResendApi]:
    fake = FakeResendApi(API_KEY)
    yield fake
    fake.close()


@pytest.fixture
def secrets(stack: Stack) -> None:
    ssm = shared_clients().client("ssm")
    webhook_env = stack.specs["EmailWebhookFunction"].environment
    content_env = stack.specs["EmailContentFunction"].environment
    ssm.put_parameter(Name=content_env["RESEND_API_KEY_PARAMETER"], Value=API_KEY, Type="SecureString")
    ssm.put_parameter(
        Name=webhook_env["RESEND_WEBHOOK_SECRET_PARAMETER"], Value=WEBHOOK_SECRET, Type="SecureString"
    )


@pytest.fixture
def channel_api(stack: Stack, resend: FakeResendApi, secrets: None) -> Api:
    api = Api(stack)
    api.management = stack.load_function("ManagementApiFunction", RESEND_API_BASE_URL=resend.url)
    return api


@pytest.fixture
def email_webhook(stack: Stack, secrets: None) -> ModuleType:
    return stack.load_function("EmailWebhookFunction", RESEND_RECEIVING_DOMAIN=RECEIVING)


@pytest.fixture
def connected(channel_api: Api) -> Account:
    account = channel_api.create_account("Acme Mail")
    body = {"emailFromAddress": "hello@acme.test", "emailFromName": "Acme"}
    result = channel_api.call("PUT", "/api/integrations/email", api_key=account.api_key, json_body=body)
    assert result.status == 200, result.body
    return account


def post(module: ModuleType, event: dict[str, Any], msg_id: str) -> HttpResult:
    body = json.dumps(event).encode()
    headers = {"content-type": "application/json", **svix_headers(WEBHOOK_SECRET, msg_id, body)}
    return invoke(
        module,
        http_event(
            "POST", "/api/webhooks/email", route_key="POST /api/webhooks/email", headers=headers, body=body
        ),
    )


def email_received(email_id: str, to: list[str]) -> dict[str, Any]:
    event = json.loads((SAMPLES / "email-received-docs.json").read_text())
    event["data"].update(email_id=email_id, to=to, **{"from": "Ada Lovelace <ada@example.com>"})
    return event


def fan_out_new_records(stack: Stack, seen: int) -> int:
    records = stream_records(stack)
    result = stack.load_function("EventFanoutFunction").lambda_handler(
        stream_event(records[seen:], stack.stream_arn), LambdaContext()
    )
    assert result["batchItemFailures"] == []
    return len(records)


def content_jobs(stack: Stack) -> list[dict[str, Any]]:
    url = stack.specs["EventFanoutFunction"].environment["EMAIL_CONTENT_QUEUE_URL"]
    batch = shared_clients().client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return batch.get("Messages", [])


def sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:EmailContentQueue",
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


SENDING_AND_RECEIVING = {"sending": "enabled", "receiving": "enabled"}


def connect(api: Api, account: Account, address: str = "hello@acme.test") -> HttpResult:
    body = {"emailFromAddress": address, "emailFromName": "Acme"}
    return api.call("PUT", "/api/integrations/email", api_key=account.api_key, json_body=body)


def receiving_record(result: HttpResult) -> dict[str, Any]:
    [record] = [r for r in result.body["dnsRecords"] if r["record"] == "Receiving"]
    return record


def test_connecting_registers_the_domain_for_sending_and_receiving_with_its_receiving_mx_record(
    channel_api: Api, resend: FakeResendApi
) -> None:
    account = channel_api.create_account()
    result = connect(channel_api, account)
    assert result.status == 200, result.body
    [create] = resend.calls
    assert (create.method, create.path, create.body) == (
        "POST",
        "/domains",
        {"name": "acme.test", "capabilities": SENDING_AND_RECEIVING},
    )
    assert create.headers["authorization"] == f"Bearer {API_KEY}"
    assert (result.body["domain"], result.body["domainStatus"], result.body["receiving"]) == (
        "acme.test",
        "not_started",
        "enabled",
    )
    assert [r["record"] for r in result.body["dnsRecords"]] == ["SPF", "SPF", "DKIM", "Receiving"]
    assert receiving_record(result) == {
        "record": "Receiving",
        "name": "acme.test",
        "type": "MX",
        "value": "inbound-mx.resend.com",
        "priority": 10,
        "ttl": "Auto",
        "status": "not_started",
    }

    other = channel_api.create_account("Other")
    taken = connect(channel_api, other)
    assert taken.status == 409 and "connected to another account" in taken.body["error"]


@pytest.mark.parametrize(
    "name", ["Shop\r\nBcc: x@y.example", "Shop\u2028Bcc", "Shop\x00", "Shop <x@y.example>"]
)
def test_a_sender_name_that_would_break_the_from_header_is_400_and_nothing_is_saved(
    channel_api: Api, resend: FakeResendApi, stack: Stack, name: str
) -> None:
    account = channel_api.create_account()
    body = {"emailFromAddress": "hello@acme.test", "emailFromName": name}

    result = channel_api.call("PUT", "/api/integrations/email", api_key=account.api_key, json_body=body)

    assert result.status == 400
    assert result.body["details"] == [
        {"field": "emailFromName", "message": "one line without control characters or angle brackets"}
    ]
    assert resend.calls == []
    assert stack.entities("integration") == []
    # Any script is a name.
    body["emailFromName"] = "Zoë's Café · 東京店"
    assert (
        channel_api.call("PUT", "/api/integrations/email", api_key=account.api_key, json_body=body).status
        == 200
    )


def test_verification_is_asynchronous_and_showing_the_integration_asks_resend_again(
    channel_api: Api, resend: FakeResendApi
) -> None:
    account = channel_api.create_account()
    assert connect(channel_api, account).status == 200

    verified = channel_api.call("POST", "/api/integrations/email/verify", api_key=account.api_key)
    assert verified.status == 200, verified.body
    assert verified.body["domainStatus"] == "pending"  # Resend checks the records in the background
    assert verified.body["verificationRequestedAt"] == verified.body["domainStatusCheckedAt"]
    assert {r["status"] for r in verified.body["dnsRecords"]} == {"pending"}
    shown = channel_api.call("GET", "/api/integrations/email", api_key=account.api_key)
    assert (shown.body["domainStatus"], shown.body["receiving"]) == ("pending", "enabled")

    assert resend.complete_verification("acme.test", status="failed", records={"Receiving"}) == 1
    assert resend.complete_verification("acme.test") == 3
    shown = channel_api.call("GET", "/api/integrations/email", api_key=account.api_key)
    assert shown.status == 200
    assert shown.body["domainStatus"] == "partially_failed"
    assert receiving_record(shown)["status"] == "failed"
    assert shown.body["domainStatusCheckedAt"] >= verified.body["domainStatusCheckedAt"]
    assert shown.body["verificationRequestedAt"] == verified.body["verificationRequestedAt"]
    assert [c.path for c in resend.calls[-1:]] == [f"/domains/{shown.body['domainId']}"]

    again = channel_api.call("POST", "/api/integrations/email/verify", api_key=account.api_key)
    assert (again.body["domainStatus"], receiving_record(again)["status"]) == ("pending", "pending")
    resend.complete_verification()
    assert (
        channel_api.call("GET", "/api/integrations/email", api_key=account.api_key).body["domainStatus"]
        == "verified"
    )


def test_showing_the_integration_while_resend_cannot_answer_gives_the_stored_state_and_why(
    channel_api: Api, resend: FakeResendApi
) -> None:
    account = channel_api.create_account()
    connected = connect(channel_api, account)
    for status in (500, 429):
        resend.fail_next(1, status)
        shown = channel_api.call("GET", "/api/integrations/email", api_key=account.api_key)
        assert shown.status == 200, shown.body
        assert (shown.body["domainStatus"], shown.body["domainStatusCheckedAt"]) == (
            "not_started",
            connected.body["domainStatusCheckedAt"],
        )
        assert "dnsRecords" not in shown.body
        assert shown.body["domainStatusRefreshError"].startswith("Resend: The Resend API")


def test_a_domain_resend_has_already_is_connected_with_receiving_turned_on(
    channel_api: Api, resend: FakeResendApi
) -> None:
    # Registered at Resend before (by hand, or by a connect whose save failed): sending only, verified.
    earlier = resend.add_domain("acme.test", status="verified")
    account = channel_api.create_account()

    result = connect(channel_api, account)

    assert result.status == 200, result.body
    assert [(c.method, c.path) for c in resend.calls] == [
        ("POST", "/domains"),  # 403: registered already
        ("GET", "/domains"),
        ("GET", f"/domains/{earlier['id']}"),
        ("PATCH", f"/domains/{earlier['id']}"),
        ("GET", f"/domains/{earlier['id']}"),
    ]
    assert resend.calls[3].body == {"capabilities": SENDING_AND_RECEIVING}
    assert (result.body["domainId"], result.body["receiving"]) == (earlier["id"], "enabled")
    # Sending was verified; the receiving MX record is new: add it, then verify.
    assert result.body["domainStatus"] == "partially_verified"
    assert {r["record"]: r["status"] for r in result.body["dnsRecords"]} == {
        "SPF": "verified",
        "DKIM": "verified",
        "Receiving": "not_started",
    }


def test_an_integration_connected_without_receiving_gets_it_on_verify_or_on_connecting_again(
    channel_api: Api, resend: FakeResendApi
) -> None:
    account = channel_api.create_account()
    domain_id = connect(channel_api, account).body["domainId"]
    # As Leadhub connected domains before it asked Resend for receiving:
    resend.domains[domain_id]["capabilities"]["receiving"] = "disabled"
    resend.domains[domain_id]["records"] = resend.domains[domain_id]["records"][:3]

    shown = channel_api.call("GET", "/api/integrations/email", api_key=account.api_key)
    assert shown.body["receiving"] == "disabled"
    assert "Receiving" not in {r["record"] for r in shown.body["dnsRecords"]}

    calls = len(resend.calls)
    verified = channel_api.call("POST", "/api/integrations/email/verify", api_key=account.api_key)
    assert verified.status == 200, verified.body
    assert [(c.method, c.path) for c in resend.calls[calls:]] == [
        ("POST", f"/domains/{domain_id}/verify"),
        ("GET", f"/domains/{domain_id}"),
        ("PATCH", f"/domains/{domain_id}"),
        ("POST", f"/domains/{domain_id}/verify"),
        ("GET", f"/domains/{domain_id}"),
    ]
    assert verified.body["receiving"] == "enabled"
    assert receiving_record(verified)["status"] == "pending"

    resend.domains[domain_id]["capabilities"]["receiving"] = "disabled"
    again = connect(channel_api, account)
    assert (again.status, again.body["domainId"], again.body["receiving"]) == (200, domain_id, "enabled")
    assert resend.calls[-2].method == "PATCH"


def test_a_domain_deleted_at_resend_is_registered_again_on_connecting_again(
    channel_api: Api, resend: FakeResendApi
) -> None:
    account = channel_api.create_account()
    first = connect(channel_api, account).body["domainId"]
    resend.domains.clear()

    again = connect(channel_api, account)

    assert again.status == 200, again.body
    assert again.body["domainId"] != first and again.body["domainId"] in resend.domains


def test_resend_asking_to_wait_while_connecting_is_a_502_to_try_again(
    channel_api: Api, resend: FakeResendApi
) -> None:
    account = channel_api.create_account()
    resend.fail_next(1, 429)
    result = connect(channel_api, account)
    assert result.status == 502 and "try again later" in result.body["error"]
    assert connect(channel_api, account).status == 200


def test_a_domain_resend_refuses_for_another_reason_is_a_400(channel_api: Api, resend: FakeResendApi) -> None:
    account = channel_api.create_account()
    body = {"emailFromAddress": "hello@gmail.test", "emailFromName": "Acme"}
    resend.fail_next(1, 422, resend_error(422, "validation_error", "Public domains are not allowed"))

    result = channel_api.call("PUT", "/api/integrations/email", api_key=account.api_key, json_body=body)

    assert result.status == 400 and "Public domains" in result.body["details"][0]["message"]


@pytest.mark.parametrize("address", ["not-an-address", "a@b", "x@@acme.test"])
def test_invalid_from_addresses_are_400(channel_api: Api, address: str) -> None:
    account = channel_api.create_account()
    body = {"emailFromAddress": address, "emailFromName": "Acme"}
    result = channel_api.call("PUT", "/api/integrations/email", api_key=account.api_key, json_body=body)
    assert result.status == 400


@pytest.mark.parametrize("name", ["", "Tab\there", "x" * 101])
def test_from_names_empty_too_long_or_with_tabs_are_400(
    channel_api: Api, resend: FakeResendApi, name: str
) -> None:
    account = channel_api.create_account()
    body = {"emailFromAddress": "hello@acme.test", "emailFromName": name}
    result = channel_api.call("PUT", "/api/integrations/email", api_key=account.api_key, json_body=body)
    assert result.status == 400 and result.body["details"][0]["field"].endswith("emailFromName")
    assert resend.calls == []


def test_an_email_is_stored_then_completed_with_its_fetched_text_then_announced(
    stack: Stack, connected: Account, email_webhook: ModuleType, resend: FakeResendApi
) -> None:
    seen = len(stream_records(stack))
    stored = post(email_webhook, email_received("e-1", ["hello@acme.test"]), "msg_1")
    assert (stored.status, stored.body) == (200, {"received": True, "outcome": "stored"})
    assert (
        post(email_webhook, email_received("e-1", ["hello@acme.test"]), "msg_1").body["outcome"]
        == "duplicate"
    )

    seen = fan_out_new_records(stack, seen)
    [job] = content_jobs(stack)
    assert json.loads(job["Body"]) == {"accountId": connected.account_id, "emailId": "e-1"}

    resend.fail_next(1)  # Resend has a bad moment: the job fails alone and is retried
    content = stack.load_function("EmailContentFunction", RESEND_API_BASE_URL=resend.url)
    failed = content.lambda_handler(sqs_event([job]), LambdaContext())
    assert failed["batchItemFailures"] == [{"itemIdentifier": job["MessageId"]}]
    resend.emails["e-1"] = {
        "id": "e-1",
        "text": "Hello!\n\nOn Mon, Acme <hello@acme.test> wrote:\n> Hi",
        "html": None,
    }
    assert content.lambda_handler(sqs_event([job]), LambdaContext())["batchItemFailures"] == []

    [message] = stack.entities("message")
    assert (message["status"]["S"], message["text"]["S"]) == ("received", "Hello!")
    facts = []
    for record in stream_records(stack)[seen:]:
        images = record["dynamodb"]
        facts += message_facts(
            message_from_image(images.get("OldImage")), message_from_image(images.get("NewImage"))
        )
    assert [(f.event, f.data["text"]) for f in facts] == [("message.received", "Hello!")]


def test_replies_to_the_reply_address_join_their_conversation(
    stack: Stack, channel_api: Api, connected: Account, email_webhook: ModuleType
) -> None:
    post(email_webhook, email_received("e-1", ["hello@acme.test"]), "msg_1")
    [conversation] = channel_api.call("GET", "/api/conversations", api_key=connected.api_key).body["items"]
    reply_to = f"reply+{conversation['conversationId']}@{RECEIVING}"
    assert post(email_webhook, email_received("e-2", [reply_to]), "msg_2").body["outcome"] == "stored"
    [again] = channel_api.call("GET", "/api/conversations", api_key=connected.api_key).body["items"]
    assert (again["conversationId"], again["messageCount"]) == (conversation["conversationId"], 2)


def test_a_reply_from_a_domain_resend_has_not_verified_is_failed_with_resends_reason_and_not_retried(
    stack: Stack, channel_api: Api, connected: Account, email_webhook: ModuleType, resend: FakeResendApi
) -> None:
    post(email_webhook, email_received("e-1", ["hello@acme.test"]), "msg_1")
    [conversation] = channel_api.call("GET", "/api/conversations", api_key=connected.api_key).body["items"]
    path = f"/api/conversations/{conversation['conversationId']}/messages"
    queued = channel_api.call("POST", path, api_key=connected.api_key, json_body={"text": "It is free."})
    assert queued.status == 202, queued.body  # acme.test is connected but never verified
    worker_env = stack.specs["ConversationWorkerFunction"].environment
    worker = stack.load_function(
        "ConversationWorkerFunction", RESEND_API_BASE_URL=resend.url, RESEND_RECEIVING_DOMAIN=RECEIVING
    )
    sqs = shared_clients().client("sqs")
    jobs = sqs.receive_message(
        QueueUrl=worker_env["CONVERSATION_QUEUE_URL"], MaxNumberOfMessages=10, AttributeNames=["All"]
    )["Messages"]
    arn = f"arn:aws:sqs:us-east-1:123456789012:{worker_env['CONVERSATION_QUEUE_URL'].rsplit('/', 1)[1]}"

    result = worker.lambda_handler(poller_event(jobs, arn), LambdaContext())

    assert result["batchItemFailures"] == []  # final: Lambda deletes the job, no retry
    [(_, status, answer)] = [a for a in resend.answers if a[0].path == "/emails"]
    assert (status, answer["name"]) == (403, "validation_error") and resend.sent == []
    messages = channel_api.call("GET", path, api_key=connected.api_key).body["items"]
    [reply] = [m for m in messages if m["direction"] == "outbound"]
    assert reply["status"] == "failed"
    assert reply["errors"] == [
        {
            "reason": "Resend 403 validation_error: The acme.test domain is not verified. Please, add "
            "and verify your domain on https://resend.com/domains"
        }
    ]
    dead = sqs.receive_message(QueueUrl=worker_env["CONVERSATION_DLQ_URL"], MaxNumberOfMessages=10)
    assert dead.get("Messages", []) == []


def test_a_bad_signature_is_401_and_mail_to_unknown_domains_is_ignored(
    stack: Stack, connected: Account, email_webhook: ModuleType
) -> None:
    event = email_received("e-1", ["hello@acme.test"])
    body = json.dumps(event).encode()
    headers = {"svix-id": "msg_x", "svix-timestamp": "1", "svix-signature": "v1,AAAA"}
    bad = invoke(
        email_webhook,
        http_event(
            "POST", "/api/webhooks/email", route_key="POST /api/webhooks/email", headers=headers, body=body
        ),
    )
    assert bad.status == 401
    assert (
        post(email_webhook, email_received("e-9", ["x@elsewhere.test"]), "msg_9").body["outcome"] == "ignored"
    )
    assert stack.entities("message") == []


def test_odd_but_storable_events_are_stored_and_unstorable_ones_ignored(
    stack: Stack, connected: Account, email_webhook: ModuleType
) -> None:
    surrogates = email_received("e-1", ["hello@acme.test"])
    surrogates["data"].update(subject="Hi \ud800", **{"from": "Ada \udfff <ada\ud800@example.com>"})
    long_id = email_received("e" * 10_000, ["hello@acme.test"])

    assert post(email_webhook, surrogates, "msg_1").body["outcome"] == "stored"
    assert post(email_webhook, long_id, "msg_2").body["outcome"] == "ignored"
    assert (
        post(email_webhook, email_received("e-3", ["hello@acme.test"]), "m" * 300).body["outcome"]
        == "ignored"
    )

    [message] = stack.entities("message")
    assert message["content"]["M"]["subject"] == {"S": "Hi \ufffd"}
    [lead] = stack.entities("lead")
    assert (lead["email"]["S"], lead["name"]["S"]) == ("ada\ufffd@example.com", "Ada \ufffd")


def test_a_body_beyond_the_parser_limits_is_400_after_the_signature_check(
    stack: Stack, connected: Account, email_webhook: ModuleType
) -> None:
    body = b'{"type": "email.received", "data": {"n": ' + b"9" * 5000 + b"}}"
    headers = {"content-type": "application/json", **svix_headers(WEBHOOK_SECRET, "msg_deep", body)}
    event = http_event(
        "POST", "/api/webhooks/email", route_key="POST /api/webhooks/email", headers=headers, body=body
    )
    assert invoke(email_webhook, event).status == 400
    headers["svix-signature"] = "v1,AAAA"
    event = http_event(
        "POST", "/api/webhooks/email", route_key="POST /api/webhooks/email", headers=headers, body=body
    )
    assert invoke(email_webhook, event).status == 401
    assert stack.entities("message") == []


def test_the_content_worker_ends_every_job_whatever_resend_answers(
    stack: Stack, connected: Account, email_webhook: ModuleType, resend: FakeResendApi
) -> None:
    """A long text is stored cut; an answer no parser should read (nested 100 levels), or one the table
    cannot hold (a 40-digit number), is recorded as a content error: none keeps the job failing until it
    lands in the DLQ."""
    seen = len(stream_records(stack))
    post(email_webhook, email_received("e-long", ["hello@acme.test"]), "msg_1")
    post(email_webhook, email_received("e-deep", ["hello@acme.test"]), "msg_2")
    post(email_webhook, email_received("e-number", ["hello@acme.test"]), "msg_3")
    fan_out_new_records(stack, seen)
    jobs = content_jobs(stack)
    resend.emails["e-long"] = {"id": "e-long", "text": "Hi \ud800 " + "x" * 300_000, "html": None}
    deep: Any = "too deep"
    for _ in range(100):
        deep = [deep]
    resend.emails["e-deep"] = {"id": "e-deep", "text": "Hi", "headers": {"x-nested": deep}}
    resend.emails["e-number"] = {"id": "e-number", "text": "Hi", "headers": {"references": 10**40}}

    content = stack.load_function("EmailContentFunction", RESEND_API_BASE_URL=resend.url)
    assert content.lambda_handler(sqs_event(jobs), LambdaContext())["batchItemFailures"] == []

    stored = {m["providerMessageId"]["S"]: m for m in stack.entities("message")}
    assert {m["status"]["S"] for m in stored.values()} == {"received"}
    text = stored["e-long"]["text"]["S"]
    assert text.startswith("Hi \ufffd x") and text.endswith("…[truncated]") and len(text) == 20_000
    assert stored["e-deep"]["content"]["M"]["contentError"] == {"S": "unreadable"}
    assert stored["e-number"]["content"]["M"]["contentError"] == {"S": "unstorable"}


def test_the_local_stacks_fake_verifies_by_itself_once_its_delay_has_passed() -> None:
    now = [1000.0]
    fake = FakeResendApi(API_KEY, verify_after=20, clock=lambda: now[0])
    try:
        api = ResendApi(fake.url, StaticSecret(API_KEY))
        domain_id = api.create_domain("acme.test")["id"]
        api.verify_domain(domain_id)
        now[0] += 19.9
        assert api.get_domain(domain_id)["status"] == "pending"
        now[0] += 0.1
        assert api.get_domain(domain_id)["status"] == "verified"
    finally:
        fake.close()
