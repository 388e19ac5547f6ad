"""WhatsApp through the local stack, as a new user tries it: connect the number (loopback Graph API),
subscribe an endpoint, send Meta's signed webhook, and see the conversation through the API and the
`message.received` event, signed, at the endpoint."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path

import httpx
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import STACK_ENV, WHATSAPP_ACCOUNT
from tests.receiver import Receiver

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "whatsapp" / "text-pywa.json"
NewAccount = Callable[..., dict[str, str]]


def signed_post(http: httpx.Client, body: bytes, secret: str = STACK_ENV["FB_APP_SECRET"]) -> httpx.Response:
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return http.post(
        "/api/webhooks/meta-whatsapp",
        content=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
    )


def test_meta_handshake(http: httpx.Client) -> None:
    params = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
    ok = http.get(
        "/api/webhooks/meta-whatsapp",
        params={**params, "hub.verify_token": STACK_ENV["META_WEBHOOK_VERIFY_TOKEN"]},
    )
    assert (ok.status_code, ok.text, ok.headers["content-type"]) == (200, "1158201444", "text/plain")
    assert (
        http.get("/api/webhooks/meta-whatsapp", params={**params, "hub.verify_token": "x"}).status_code == 403
    )


def test_a_signed_whatsapp_text_becomes_a_conversation_and_a_delivered_event(
    http: httpx.Client, new_account: NewAccount
) -> None:
    account = new_account("WhatsApp shop")
    keyed = {"X-API-Key": account["apiKey"]}
    connected = http.put("/api/integrations/whatsapp", json=WHATSAPP_ACCOUNT, headers=keyed)
    assert connected.status_code == 200, connected.text
    assert connected.json()["webhookUrl"].endswith("/api/webhooks/meta-whatsapp")

    with Receiver() as receiver:
        endpoint = http.post(
            "/api/webhook-endpoints",
            json={"name": "CRM", "url": receiver.url, "events": ["message.received", "conversation.created"]},
            headers=keyed,
        ).json()
        body = SAMPLE.read_bytes()
        assert signed_post(http, body, secret="wrong").status_code == 401
        stored = signed_post(http, body)
        assert stored.status_code == 200, stored.text
        assert stored.json()["stored"] == 1
        assert signed_post(http, body).json()["duplicates"] == 1  # Meta's retry: nothing new

        [received] = receiver.wait_for("message.received")
        [created] = receiver.wait_for("conversation.created")

    event = Webhook(endpoint["secret"]).verify(received.body, received.headers)
    assert event["accountId"] == account["accountId"]
    assert (event["data"]["text"], event["data"]["channel"], event["data"]["direction"]) == (
        "Body Text",
        "whatsapp",
        "inbound",
    )
    conversation_id = event["data"]["conversationId"]
    assert json.loads(created.body)["data"]["conversationId"] == conversation_id

    [conversation] = http.get("/api/conversations", params={"channel": "whatsapp"}, headers=keyed).json()[
        "items"
    ]
    assert conversation["conversationId"] == conversation_id
    messages = http.get(f"/api/conversations/{conversation_id}/messages", headers=keyed).json()["items"]
    assert [m["text"] for m in messages] == ["Body Text"]
    lead = http.get(f"/api/leads/{conversation['leadId']}", headers=keyed).json()
    assert (lead["phone"], lead["name"]) == ("+972987654321", "Test Name")

    # Someone who hides their number behind a username: a lead by their business-scoped user id.
    hidden = signed_post(http, (SAMPLE.parent / "text-username-bsuid-meta-docs.json").read_bytes())
    assert hidden.json()["stored"] == 1
    leads = http.get("/api/leads", headers=keyed).json()["items"]
    [by_id] = [lead for lead in leads if lead["channelIds"] == {"whatsapp": "US.13491208655302741918"}]
    assert (by_id["phone"], by_id["name"], by_id["usernames"]) == (
        None,
        "Sheena Nelson",
        {"whatsapp": "sheena.nelson"},
    )
