"""Email through the local stack: connect a domain (loopback Resend), receive a signed `email.received`,
watch the content being fetched and the message announced with its new text, and a reply to the
conversation's reply address land in the same conversation."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from local.fake_providers import FakeResendApi, svix_headers
from tests.e2e.conftest import RECEIVING_DOMAIN, STACK_ENV, wait_until
from tests.receiver import Receiver

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "resend" / "email-received-docs.json"
NewAccount = Callable[..., dict[str, str]]


def post_signed(http: httpx.Client, event: dict[str, Any], msg_id: str) -> httpx.Response:
    body = json.dumps(event).encode()
    headers = {
        "content-type": "application/json",
        **svix_headers(STACK_ENV["RESEND_WEBHOOK_SECRET"], msg_id, body),
    }
    return http.post("/api/webhooks/email", content=body, headers=headers)


def received(email_id: str, to: str) -> dict[str, Any]:
    event = json.loads(SAMPLE.read_text())
    event["data"].update(email_id=email_id, to=[to], **{"from": "Ada Lovelace <ada@example.com>"})
    return event


def test_an_email_and_its_reply_land_in_one_conversation_with_the_fetched_text(
    http: httpx.Client, new_account: NewAccount, resend: FakeResendApi
) -> None:
    account = new_account("Mail shop")
    keyed = {"X-API-Key": account["apiKey"]}
    body = {"emailFromAddress": "hello@mailshop.test", "emailFromName": "Mail shop"}
    connected = http.put("/api/integrations/email", json=body, headers=keyed)
    assert connected.status_code == 200, connected.text
    # Registered for receiving too: the MX record that brings mail for the domain to Resend is listed.
    # (this session's fake is shared: other tests, the OpenAPI fuzzer among them, register domains too)
    [create] = [
        c
        for c in resend.calls
        if (c.method, c.path) == ("POST", "/domains") and (c.body or {}).get("name") == "mailshop.test"
    ]
    assert create.body["capabilities"] == {"sending": "enabled", "receiving": "enabled"}
    receiving = [r for r in connected.json()["dnsRecords"] if r["record"] == "Receiving"]
    assert [(r["type"], r["name"], r["status"]) for r in receiving] == [
        ("MX", "mailshop.test", "not_started")
    ]
    resend.emails["e2e-1"] = {"id": "e2e-1", "text": "Is the flat free?\n\nSent from my iPhone", "html": None}
    resend.emails["e2e-2"] = {
        "id": "e2e-2",
        "text": "Tuesday works.\n\nOn Mon, Mail shop <hello@mailshop.test> wrote:\n> When?",
        "html": None,
    }

    with Receiver() as receiver:
        endpoint = http.post(
            "/api/webhook-endpoints",
            json={"name": "CRM", "url": receiver.url, "events": ["message.received"]},
            headers=keyed,
        ).json()
        assert (
            post_signed(http, received("e2e-1", "hello@mailshop.test"), "msg_e2e_1").json()["outcome"]
            == "stored"
        )
        [first] = receiver.wait_for("message.received")
        conversation_id = json.loads(first.body)["data"]["conversationId"]
        reply_to = f"reply+{conversation_id}@{RECEIVING_DOMAIN}"
        assert post_signed(http, received("e2e-2", reply_to), "msg_e2e_2").json()["outcome"] == "stored"
        messages = receiver.wait_for("message.received", count=2)

    texts = [Webhook(endpoint["secret"]).verify(m.body, m.headers)["data"]["text"] for m in messages]
    assert texts == ["Is the flat free?", "Tuesday works."]
    assert {json.loads(m.body)["data"]["conversationId"] for m in messages} == {conversation_id}

    def both_stored() -> bool:
        listed = http.get(f"/api/conversations/{conversation_id}/messages", headers=keyed).json()["items"]
        return [m["status"] for m in listed] == ["received", "received"]

    assert wait_until(both_stored, timeout=10)
    assert (
        post_signed(http, received("e2e-1", "hello@mailshop.test"), "msg_e2e_1").json()["outcome"]
        == "duplicate"
    )
