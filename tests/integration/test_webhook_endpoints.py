"""Endpoint management inside moto against real receivers on loopback: verification modes, the client's
own secret, what `test` says about an endpoint that receives nothing, and no request for a refused
create."""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from leadhub.outbound.adapters.dynamodb_delivery_log import DynamoDeliveryLog
from leadhub.outbound.adapters.dynamodb_endpoints import endpoint_key
from leadhub.outbound.models import Delivery, DeliveryStatus
from tests.integration.conftest import Account, Api, HttpResult, Stack
from tests.receiver import Answer, LoopbackServer

CAUGHT = Answer(200, {"Content-Type": "application/json"}, b'{"status": "success"}')


def own_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


class CatchHook:
    """A receiver on loopback that counts and keeps every request; `answer` decides each reply (by
    default a Zapier-like catch hook: 200 {"status": "success"}, nothing echoed)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.answer: Callable[[dict[str, str], bytes], Answer] = lambda headers, body: CAUGHT
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._on_post)

    def _on_post(self, headers: dict[str, str], body: bytes, _complete: bool) -> Answer:
        with self._lock:
            self.requests.append((headers, body))
        return self.answer(headers, body)

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def checking_signatures(self, secret: str) -> None:
        """Answer like a receiver that verifies signatures: 401 unless signed with `secret`."""

        def answer(headers: dict[str, str], body: bytes) -> Answer:
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                return Answer(401, body=b"bad signature")
            return CAUGHT

        self.answer = answer

    def echoing(self) -> None:
        def answer(headers: dict[str, str], body: bytes) -> Answer:
            return Answer(200, body=json.dumps({"verifyToken": json.loads(body)["verifyToken"]}).encode())

        self.answer = answer

    def close(self) -> None:
        self._server.close()


@pytest.fixture
def hook() -> Iterator[CatchHook]:
    receiver = CatchHook()
    yield receiver
    receiver.close()


@pytest.fixture
def loopback_api(stack: Stack) -> Api:
    api = Api(stack)
    api.management = stack.load_function("ManagementApiFunction", ALLOW_PRIVATE_WEBHOOK_TARGETS="true")
    return api


def create(api: Api, account: Account, url: str, **fields: Any) -> HttpResult:
    body = {"name": "Zap", "url": url, **fields}
    return api.call("POST", "/api/webhook-endpoints", api_key=account.api_key, json_body=body)


def call(api: Api, account: Account, method: str, path: str, body: Any = None) -> HttpResult:
    return api.call(method, f"/api/webhook-endpoints/{path}", api_key=account.api_key, json_body=body)


def test_a_refused_create_sends_nothing_to_the_url(loopback_api: Api, hook: CatchHook) -> None:
    free = loopback_api.create_account("Free shop", plan="free")
    first = create(loopback_api, free, hook.url)
    assert first.status == 201 and hook.count == 1  # its handshake

    over_limit = create(loopback_api, free, hook.url)
    invalid_event = create(loopback_api, free, hook.url, events=["lead.deleted"])
    weak_secret = create(loopback_api, free, hook.url, secret="whsec_" + base64.b64encode(b"a" * 32).decode())

    assert over_limit.status == 403 and "free plan allows 1" in over_limit.body["error"]
    assert (invalid_event.status, weak_secret.status) == (400, 400)
    assert hook.count == 1
    assert len(loopback_api.call("GET", "/api/webhook-endpoints", api_key=free.api_key).body["items"]) == 1


def test_a_catch_hook_is_verified_by_ping_the_default(loopback_api: Api, hook: CatchHook) -> None:
    account = loopback_api.create_account()
    created = create(loopback_api, account, hook.url)

    assert created.status == 201, created.body
    assert created.body["verification"]["mode"] == "ping"
    assert created.body["verification"]["status"] == "verified" and created.body["receivesEvents"]
    [(headers, body)] = hook.requests
    assert json.loads(body)["event"] == "webhook.verify"
    Webhook(created.body["secret"]).verify(body, headers)  # signed like every delivery


def test_echo_mode_says_the_answer_did_not_echo_and_names_ping(loopback_api: Api, hook: CatchHook) -> None:
    account = loopback_api.create_account()
    created = create(loopback_api, account, hook.url, verification="echo")

    verification = created.body["verification"]
    assert (verification["mode"], verification["status"]) == ("echo", "failed")
    assert "HTTP 200 but did not echo the verifyToken" in verification["error"]
    assert 'verification "ping"' in verification["error"]
    assert created.body["receivesEvents"] is False

    hook.echoing()
    verified = call(loopback_api, account, "POST", f"{created.body['endpointId']}/verify")
    assert verified.body["verification"]["status"] == "verified"


def test_changing_the_mode_runs_the_handshake_again(loopback_api: Api, hook: CatchHook) -> None:
    account = loopback_api.create_account()
    endpoint_id = create(loopback_api, account, hook.url, verification="echo").body["endpointId"]
    assert hook.count == 1

    to_ping = call(loopback_api, account, "PATCH", endpoint_id, {"verification": "ping"})
    assert hook.count == 2
    assert (to_ping.body["verification"]["mode"], to_ping.body["verification"]["status"]) == (
        "ping",
        "verified",
    )
    unchanged = call(loopback_api, account, "PATCH", endpoint_id, {"verification": "ping", "name": "Z"})
    assert unchanged.body["verification"]["status"] == "verified" and hook.count == 2

    # Asking for proof of control again: this receiver cannot echo, so it stops receiving events.
    to_echo = call(loopback_api, account, "PATCH", endpoint_id, {"verification": "echo"})
    assert hook.count == 3
    assert (to_echo.body["verification"]["status"], to_echo.body["receivesEvents"]) == ("failed", False)


def test_an_endpoint_stored_before_modes_keeps_echo(loopback_api: Api, hook: CatchHook, stack: Stack) -> None:
    account = loopback_api.create_account()
    hook.echoing()
    endpoint_id = create(loopback_api, account, hook.url, verification="echo").body["endpointId"]
    key = endpoint_key(account.account_id, endpoint_id)
    stack.ddb.update_item(TableName=stack.table_name, Key=key, UpdateExpression="REMOVE verificationMode")

    shown = call(loopback_api, account, "GET", endpoint_id)
    assert shown.body["verification"] == {**shown.body["verification"], "mode": "echo", "status": "verified"}
    hook.answer = lambda headers, body: CAUGHT
    again = call(loopback_api, account, "POST", f"{endpoint_id}/verify")
    assert again.body["verification"]["status"] == "failed"  # a plain 2xx is not enough for echo


def test_a_receiver_checking_signatures_verifies_at_once_with_its_own_secret(
    loopback_api: Api, hook: CatchHook
) -> None:
    account = loopback_api.create_account()
    secret = own_secret()
    hook.checking_signatures(secret)

    created = create(loopback_api, account, hook.url, secret=secret)

    assert created.status == 201 and created.body["secret"] == secret
    assert created.body["verification"]["status"] == "verified"


def test_create_then_configure_the_receiver_then_verify(loopback_api: Api, hook: CatchHook) -> None:
    account = loopback_api.create_account()
    hook.checking_signatures(own_secret())  # it does not know the secret Leadhub will generate
    created = create(loopback_api, account, hook.url)
    verification = created.body["verification"]
    assert verification["status"] == "failed"
    assert "HTTP 401" in verification["error"] and "POST …/verify" in verification["error"]

    hook.checking_signatures(created.body["secret"])  # configured with the secret from the answer
    verified = call(loopback_api, account, "POST", f"{created.body['endpointId']}/verify")
    assert verified.body["verification"]["status"] == "verified" and verified.body["receivesEvents"]


def test_rotating_to_an_own_secret(loopback_api: Api, hook: CatchHook) -> None:
    account = loopback_api.create_account()
    created = create(loopback_api, account, hook.url)
    endpoint_id = created.body["endpointId"]
    secret = own_secret()

    rotated = call(loopback_api, account, "POST", f"{endpoint_id}/rotate-secret", {"secret": secret})
    assert rotated.status == 200 and rotated.body["secret"] == secret
    generated = call(loopback_api, account, "POST", f"{endpoint_id}/rotate-secret")
    assert generated.status == 200 and generated.body["secret"] not in (secret, created.body["secret"])

    again = call(loopback_api, account, "POST", f"{endpoint_id}/rotate-secret", {"secret": secret})
    assert again.status == 400 and again.body["details"][0]["field"] == "secret"
    malformed = call(loopback_api, account, "POST", f"{endpoint_id}/rotate-secret", {"secret": "hunter2"})
    assert malformed.status == 400 and malformed.body["details"][0]["field"] == "secret"
    extra = call(loopback_api, account, "PATCH", endpoint_id, {"secret": own_secret()})
    assert extra.status == 400  # a secret changes through rotate-secret, with its overlap


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("hunter2", "starts with 'whsec_'"),
        ("whsec_" + base64.b64encode(os.urandom(16)).decode(), "24-64 bytes"),
        ("whsec_" + base64.b64encode(os.urandom(65)).decode(), "24-64 bytes"),
        ("whsec_" + base64.b64encode(os.urandom(32)).decode().rstrip("="), "padding"),
        ("whsec_" + base64.urlsafe_b64encode(b"\xfb\xff" * 16).decode(), "base64"),
        ("whsec_" + base64.b64encode(bytes(range(8)) * 4).decode(), "repeat"),
    ],
)
def test_weak_or_malformed_own_secrets_are_400_with_a_field_error(
    loopback_api: Api, hook: CatchHook, secret: str, message: str
) -> None:
    account = loopback_api.create_account()
    refused = create(loopback_api, account, hook.url, secret=secret)
    assert refused.status == 400
    [detail] = refused.body["details"]
    assert detail["field"] == "secret" and message in detail["message"], detail
    assert secret not in json.dumps(refused.body)  # never echoed
    assert hook.count == 0


def test_test_says_whether_the_endpoint_receives_events(loopback_api: Api, hook: CatchHook) -> None:
    account = loopback_api.create_account()
    endpoint_id = create(loopback_api, account, hook.url, verification="echo").body["endpointId"]

    unverified = call(loopback_api, account, "POST", f"{endpoint_id}/test")
    assert (unverified.body["delivered"], unverified.body["receivesEvents"]) == (True, False)
    assert unverified.body["reason"].startswith("endpoint not verified (echo mode): the endpoint answered")

    call(loopback_api, account, "PATCH", endpoint_id, {"verification": "ping"})
    receiving = call(loopback_api, account, "POST", f"{endpoint_id}/test")
    assert (receiving.body["delivered"], receiving.body["receivesEvents"], receiving.body["reason"]) == (
        True,
        True,
        None,
    )

    call(loopback_api, account, "PATCH", endpoint_id, {"enabled": False})
    disabled = call(loopback_api, account, "POST", f"{endpoint_id}/test")
    assert disabled.body["receivesEvents"] is False
    assert disabled.body["reason"].startswith("endpoint disabled through the API; PATCH enabled: true")


def test_the_openapi_document_describes_modes_secrets_and_receives_events(loopback_api: Api) -> None:
    document = loopback_api.call("GET", "/api/openapi.json").body
    schemas = document["components"]["schemas"]
    create_fields = schemas["EndpointCreateRequest"]["properties"]
    assert "ping" in create_fields["verification"]["description"]
    assert "whsec_" in create_fields["secret"]["description"]
    assert "whsec_" in schemas["RotateSecretRequest"]["properties"]["secret"]["description"]
    assert schemas["EndpointOut"]["properties"]["receivesEvents"]["description"]
    assert schemas["EndpointVerificationOut"]["properties"]["mode"]["description"]
    assert schemas["TestSendOut"]["properties"]["reason"]["description"]


def test_a_receiver_requiring_its_auth_header_is_verified_with_the_endpoints_custom_headers(
    loopback_api: Api, hook: CatchHook
) -> None:
    """n8n's header auth, a CRM's inbound key: the handshake carries the custom headers deliveries carry."""
    account = loopback_api.create_account()
    hook.answer = lambda headers, body: (
        CAUGHT
        if headers.get("x-n8n-auth") == "s3cret-value"
        else Answer(403, body=b"Authorization data is wrong!")
    )

    created = create(loopback_api, account, hook.url, headers={"X-N8N-Auth": "s3cret-value"})

    assert created.status == 201
    assert created.body["verification"]["status"] == "verified", created.body["verification"]
    [(headers, _)] = hook.requests
    assert headers["x-n8n-auth"] == "s3cret-value" and headers["x-leadhub-event"] == "webhook.verify"
    delivered = call(loopback_api, account, "POST", f"{created.body['endpointId']}/test")
    assert delivered.body["delivered"] is True and hook.requests[-1][0]["x-n8n-auth"] == "s3cret-value"


def test_a_status_filtered_delivery_log_fills_its_pages_with_matches(
    loopback_api: Api, stack: Stack, hook: CatchHook
) -> None:
    account = loopback_api.create_account()
    endpoint_id = create(loopback_api, account, hook.url).body["endpointId"]
    log = DynamoDeliveryLog(stack.table_name)
    for n in range(1, 13):  # the four oldest failed; the eight newest were delivered
        at = f"2026-12-01T10:{n:02d}:00.000Z"
        event = {"id": f"evt_{n}", "event": "lead.created", "data": {}}
        delivery = Delivery(
            account.account_id,
            f"msg_{n:04d}",
            endpoint_id,
            f"evt_{n}",
            "lead.created",
            account.account_id,
            at,
            at,
            event,
        )
        log.save(replace(delivery, status=DeliveryStatus.FAILED if n <= 4 else DeliveryStatus.DELIVERED))

    path = f"/api/webhook-endpoints/{endpoint_id}/deliveries"
    first = loopback_api.call("GET", path, api_key=account.api_key, query="status=failed&limit=3")
    assert first.status == 200
    assert [d["deliveryId"] for d in first.body["items"]] == ["msg_0004", "msg_0003", "msg_0002"]
    following = f"status=failed&limit=3&cursor={first.body['nextCursor']}"
    second = loopback_api.call("GET", path, api_key=account.api_key, query=following)
    assert [d["deliveryId"] for d in second.body["items"]] == ["msg_0001"]
    assert second.body["nextCursor"] is None
