"""Outbound webhooks through the local stack: register a loopback endpoint, post a lead, and watch
the signed delivery arrive; failures retry on the (shrunk) schedule, end in the DLQ and recover."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import httpx
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import wait_until
from tests.receiver import Answer, Received, Receiver

NewAccount = Callable[..., dict[str, str]]


def keyed(account: dict[str, str]) -> dict[str, str]:
    return {"X-API-Key": account["apiKey"]}


def register(http: httpx.Client, account: dict[str, str], url: str, **fields) -> dict:
    response = http.post(
        "/api/webhook-endpoints", json={"name": "CRM", "url": url, **fields}, headers=keyed(account)
    )
    assert response.status_code == 201, response.text
    return response.json()


def post_lead(http: httpx.Client, account: dict[str, str], phone: str) -> str:
    response = http.post(
        f"/api/webhooks/leads/{account['webhookToken']}", json={"phone": phone, "name": "Ada L"}
    )
    assert response.status_code == 201, response.text
    return response.json()["leadId"]


def test_a_posted_lead_reaches_a_verified_endpoint_signed(
    http: httpx.Client, new_account: NewAccount
) -> None:
    account = new_account("Outbound")
    with Receiver() as receiver:
        endpoint = register(http, account, receiver.url, events=["lead.created"])
        assert endpoint["verification"]["status"] == "verified"
        assert endpoint["secret"].startswith("whsec_")
        [handshake] = receiver.events("webhook.verify")
        Webhook(endpoint["secret"]).verify(handshake.body, handshake.headers)

        lead_id = post_lead(http, account, "+14155550140")
        [delivery] = receiver.wait_for("lead.created")

    envelope = Webhook(endpoint["secret"]).verify(delivery.body, delivery.headers)
    assert envelope["accountId"] == account["accountId"]
    assert envelope["data"]["leadId"] == lead_id and envelope["data"]["phone"] == "+14155550140"
    assert envelope["id"].startswith("evt_")
    assert delivery.headers["x-leadhub-event"] == "lead.created"
    assert delivery.headers["x-leadhub-delivery-id"] == delivery.headers["webhook-id"]
    assert delivery.headers["x-leadhub-signature"].startswith("sha256=")

    def delivered() -> bool:
        log = http.get(
            f"/api/webhook-endpoints/{endpoint['endpointId']}/deliveries", headers=keyed(account)
        ).json()
        return [d["status"] for d in log["items"]] == ["delivered"]

    assert wait_until(delivered, timeout=10)
    delivery_id = delivery.headers["webhook-id"]
    detail = http.get(f"/api/deliveries/{delivery_id}", headers=keyed(account)).json()
    assert [(a["attempt"], a["statusCode"]) for a in detail["attemptLog"]] == [(1, 200)]
    assert detail["payload"]["id"] == envelope["id"]


def test_failures_retry_with_growing_delays_then_recover(http: httpx.Client, new_account: NewAccount) -> None:
    account = new_account("Failing CRM")
    healthy = False

    def answer(_) -> Answer:
        return Answer(200) if healthy else Answer(503, body=b"down for maintenance")

    with Receiver(answer) as receiver:
        endpoint = register(http, account, receiver.url, events=["lead.created"])
        post_lead(http, account, "+14155550141")
        attempts = receiver.wait_for("lead.created", count=3, timeout=30)
        gaps = [later.at - earlier.at for earlier, later in pairwise(attempts)]
        assert gaps[0] >= 0.7 and gaps[1] >= 1.5, gaps  # 1 s then 2 s, ±20 %
        assert len({a.headers["webhook-id"] for a in attempts}) == 1  # one delivery, one id

        listing = f"/api/webhook-endpoints/{endpoint['endpointId']}/deliveries?status=failed"
        assert wait_until(
            lambda: len(http.get(listing, headers=keyed(account)).json()["items"]) == 1, timeout=15
        )
        [failed] = http.get(listing, headers=keyed(account)).json()["items"]
        detail = http.get(f"/api/deliveries/{failed['deliveryId']}", headers=keyed(account)).json()
        assert [a["statusCode"] for a in detail["attemptLog"]] == [503, 503, 503]
        assert detail["attemptLog"][0]["responseSnippet"] == "down for maintenance"

        healthy = True
        since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        recovered = http.post(
            f"/api/webhook-endpoints/{endpoint['endpointId']}/recover",
            json={"since": since},
            headers=keyed(account),
        )
        assert recovered.status_code == 202 and recovered.json() == {"requeued": 1}
        receiver.wait_for("lead.created", count=4, timeout=15)
        assert wait_until(
            lambda: (
                http.get(f"/api/deliveries/{failed['deliveryId']}", headers=keyed(account)).json()["status"]
                == "delivered"
            ),
            timeout=10,
        )


def test_events_while_an_endpoint_was_disabled_are_recovered_once_it_is_enabled(
    http: httpx.Client, new_account: NewAccount
) -> None:
    account = new_account("Paused CRM")
    with Receiver() as receiver:
        endpoint = register(http, account, receiver.url, events=["lead.created"])
        path = f"/api/webhook-endpoints/{endpoint['endpointId']}"
        assert http.patch(path, json={"enabled": False}, headers=keyed(account)).status_code == 200
        lead_id = post_lead(http, account, "+14155550144")
        listing = f"{path}/deliveries?status=skipped"
        assert wait_until(
            lambda: len(http.get(listing, headers=keyed(account)).json()["items"]) == 1, timeout=15
        )
        since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        recover = {"since": since, "includeSkipped": True}
        refused = http.post(f"{path}/recover", json=recover, headers=keyed(account))
        assert refused.status_code == 409 and "endpoint disabled" in refused.json()["error"]
        assert receiver.events("lead.created") == []

        assert http.patch(path, json={"enabled": True}, headers=keyed(account)).status_code == 200
        recovered = http.post(f"{path}/recover", json=recover, headers=keyed(account))
        assert recovered.status_code == 202 and recovered.json() == {"requeued": 1}
        [delivery] = receiver.wait_for("lead.created")
    envelope = Webhook(endpoint["secret"]).verify(delivery.body, delivery.headers)
    assert envelope["data"]["leadId"] == lead_id


def test_during_a_rotation_both_secrets_verify(http: httpx.Client, new_account: NewAccount) -> None:
    account = new_account("Rotating")
    with Receiver() as receiver:
        endpoint = register(http, account, receiver.url)
        rotated = http.post(
            f"/api/webhook-endpoints/{endpoint['endpointId']}/rotate-secret", headers=keyed(account)
        )
        assert rotated.status_code == 200
        post_lead(http, account, "+14155550142")
        [delivery] = receiver.wait_for("lead.created")
    for secret in (endpoint["secret"], rotated.json()["secret"]):
        Webhook(secret).verify(delivery.body, delivery.headers)
    assert len(delivery.headers["webhook-signature"].split()) == 2


def test_an_unverified_endpoint_receives_nothing(http: httpx.Client, new_account: NewAccount) -> None:
    account = new_account("Unverified")
    with Receiver(verify=False) as refusing, Receiver() as other:
        endpoint = register(http, account, refusing.url)
        assert endpoint["verification"]["status"] == "failed"
        register(http, account, other.url)
        post_lead(http, account, "+14155550143")
        other.wait_for("lead.created")
        assert refusing.events("lead.created") == []


def test_endpoints_are_private_to_their_account(http: httpx.Client, new_account: NewAccount) -> None:
    owner, other = new_account("Owner"), new_account("Other")
    with Receiver() as receiver:
        endpoint = register(http, owner, receiver.url)
    path = f"/api/webhook-endpoints/{endpoint['endpointId']}"
    assert http.get(path, headers=keyed(other)).status_code == 404
    assert http.get(f"{path}/deliveries", headers=keyed(other)).status_code == 404
    assert http.get("/api/webhook-endpoints", headers=keyed(other)).json() == {"items": []}
    assert "secret" not in http.get(path, headers=keyed(owner)).json()


ZAPIER_LIKE = Answer(200, {"Content-Type": "application/json"}, b'{"status": "success"}')


def test_a_catch_hook_that_cannot_echo_receives_events_in_ping_mode(
    http: httpx.Client, new_account: NewAccount
) -> None:
    account = new_account("Zapier user")
    with Receiver(lambda _: ZAPIER_LIKE, echo=False) as hook:
        endpoint = register(http, account, hook.url, events=["lead.created"], verification="ping")
        assert endpoint["verification"]["mode"] == "ping"
        assert endpoint["verification"]["status"] == "verified" and endpoint["receivesEvents"]
        [handshake] = hook.events("webhook.verify")  # answered 200 {"status": "success"}, nothing echoed
        Webhook(endpoint["secret"]).verify(handshake.body, handshake.headers)

        lead_id = post_lead(http, account, "+14155550145")
        [delivery] = hook.wait_for("lead.created")

    envelope = Webhook(endpoint["secret"]).verify(delivery.body, delivery.headers)
    assert envelope["data"]["leadId"] == lead_id


def test_echo_mode_refuses_a_catch_hook_and_test_says_it_receives_nothing(
    http: httpx.Client, new_account: NewAccount
) -> None:
    account = new_account("Echo asked")
    with Receiver(lambda _: ZAPIER_LIKE, echo=False) as hook:
        endpoint = register(http, account, hook.url, verification="echo")
        assert endpoint["verification"]["status"] == "failed"
        assert 'set verification "ping"' in endpoint["verification"]["error"]
        tested = http.post(f"/api/webhook-endpoints/{endpoint['endpointId']}/test", headers=keyed(account))
        assert tested.json()["delivered"] is True
        assert tested.json()["receivesEvents"] is False
        assert tested.json()["reason"].startswith("endpoint not verified (echo mode)")


def slack_incoming_webhook(request: Received) -> Answer:
    """As hooks.slack.com answers: 400 no_text without a `text` string, else 200 ok."""
    payload = request.json
    if isinstance(payload, dict) and isinstance(payload.get("text"), str) and payload["text"]:
        return Answer(200, body=b"ok")
    return Answer(400, body=b"no_text")


def test_a_slack_style_template_arrives_rendered(http: httpx.Client, new_account: NewAccount) -> None:
    account = new_account("Slack channel")
    with Receiver(slack_incoming_webhook, echo=False) as slack:
        endpoint = register(
            http,
            account,
            slack.url,
            events=["lead.created"],
            payloadTemplate={"text": "New lead {{name}} {{phone}}"},
        )
        assert endpoint["verification"]["status"] == "verified"  # by ping, the default
        post_lead(http, account, "+14155550146")
        [message] = slack.wait_for("lead.created")  # by its X-Leadhub-Event header

    assert message.json == {"text": "New lead Ada L +14155550146"}
