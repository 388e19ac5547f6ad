"""The three provider webhooks, as deployed (real handlers, the template's table in moto), fed real samples
with arbitrary JSON values anywhere in them (tests/provider_payloads.py): never a 5xx; a 4xx writes
nothing; a 200 means the message was stored whole (message, its index, conversation and lead) or
deliberately ignored (nothing written)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadhub.conversations.message_limits import MAX_TEXT_CHARS
from local.fake_providers import FakeGraphApi, FakeResendApi, FakeTelegramBotApi, svix_headers
from tests.integration.conftest import (
    Api,
    Stack,
    http_event,
    invoke,
    provisioned_stack,
    shared_clients,
)
from tests.provider_payloads import TELEGRAM_SAMPLES, WHATSAPP_SAMPLES, body_of, mutated, sample

APP_SECRET = "meta-app-secret-for-tests"
WABA_ID, PHONE_NUMBER_ID, ACCESS_TOKEN = "1234567890987654321", "1122334455667", "EAAG-test-token"
BOT_TOKEN = "7000001:AAH-test_token"
RESEND_KEY = "re_test_key"
RESEND_SECRET = "whsec_" + base64.b64encode(b"w" * 32).decode()
EXAMPLES = 30  # per channel: ~15 s for the three (and ~5 s to set the stack up)
_fresh = itertools.count(1)
BSUID_SAMPLE_MESSAGE_ID = b"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="


@dataclass
class Webhooks:
    stack: Stack
    whatsapp: ModuleType
    telegram: ModuleType
    telegram_secret: str
    email: ModuleType


@pytest.fixture(scope="module")
def webhooks() -> Iterator[Webhooks]:
    """One stack for the module, with an account connected on all three channels (through the API, against
    the loopback fakes); Hypothesis runs many examples on it."""
    graph = FakeGraphApi(WABA_ID, PHONE_NUMBER_ID, ACCESS_TOKEN)
    bot = FakeTelegramBotApi(BOT_TOKEN)
    resend = FakeResendApi(RESEND_KEY)
    try:
        with pytest.MonkeyPatch.context() as monkeypatch, provisioned_stack(monkeypatch) as stack:
            ssm = shared_clients().client("ssm")
            for function, setting, value in [
                ("WhatsappWebhookFunction", "META_APP_SECRET_PARAMETER", APP_SECRET),
                ("WhatsappWebhookFunction", "META_VERIFY_TOKEN_PARAMETER", "verify"),
                ("EmailWebhookFunction", "RESEND_WEBHOOK_SECRET_PARAMETER", RESEND_SECRET),
                ("EmailContentFunction", "RESEND_API_KEY_PARAMETER", RESEND_KEY),
            ]:
                name = stack.specs[function].environment[setting]
                ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
            api = Api(stack)
            api.management = stack.load_function(
                "ManagementApiFunction",
                GRAPH_API_BASE_URL=graph.base_url,
                TELEGRAM_API_BASE_URL=bot.url,
                RESEND_API_BASE_URL=resend.url,
            )
            key = api.create_account("Acme").api_key
            for path, body in [
                (
                    "whatsapp",
                    {"wabaId": WABA_ID, "phoneNumberId": PHONE_NUMBER_ID, "accessToken": ACCESS_TOKEN},
                ),
                ("telegram", {"telegramBotToken": BOT_TOKEN}),
                ("email", {"emailFromAddress": "hello@acme.test", "emailFromName": "Acme"}),
            ]:
                result = api.call("PUT", f"/api/integrations/{path}", api_key=key, json_body=body)
                assert result.status == 200, result.body
            assert bot.webhook is not None
            yield Webhooks(
                stack,
                stack.load_function("WhatsappWebhookFunction"),
                stack.load_function("TelegramWebhookFunction"),
                bot.webhook["secret_token"],
                stack.load_function("EmailWebhookFunction", RESEND_RECEIVING_DOMAIN="inbound.leadhub.test"),
            )
    finally:
        for fake in (graph, bot, resend):
            fake.close()


def _items(stack: Stack) -> dict[tuple[str, str], dict[str, Any]]:
    return {(i["pk"]["S"], i["sk"]["S"]): i for i in stack.items()}


def _check_stored_whole(stack: Stack, before: dict[Any, Any], after: dict[Any, Any], stored: int) -> None:
    """`stored` new messages, each with its provider index entry and conversation; nothing else changed
    when nothing was stored but the statuses of messages we do not know (yet), held whole. The new items
    are deleted afterwards: every example scans a small table."""
    new = [item for key, item in after.items() if key not in before]
    for item in new:
        stack.ddb.delete_item(TableName=stack.table_name, Key={"pk": item["pk"], "sk": item["sk"]})
    messages = [i for i in new if i["entity"]["S"] == "message"]
    assert len(messages) == stored
    held = {key for key, item in after.items() if key not in before and item["entity"]["S"] == "held_status"}
    for key in held:
        assert key[0].startswith("HELDSTATUS#") and "status" in after[key]
        assert len(json.dumps(after[key])) < 400 * 1024
    if not stored:
        assert {key: item for key, item in after.items() if key not in held} == before
    for message in messages:
        pk, sk = message["pk"]["S"], message["sk"]["S"]
        assert any(i.get("messagePk", {}).get("S") == pk and i["messageSk"]["S"] == sk for i in new)
        assert (pk, "CONV") in after
        assert "text" not in message or len(message["text"]["S"]) <= MAX_TEXT_CHARS
        assert len(json.dumps(message)) < 400 * 1024


def _answer(
    stack: Stack, module: ModuleType, route: str, body: bytes, headers: dict[str, str]
) -> tuple[dict[str, Any], dict[Any, Any], dict[Any, Any]] | None:
    """Post to the handler: never a 5xx, and a 4xx changes nothing (None); else the answer's body and
    the table's items before and after."""
    before = _items(stack)
    headers = {"content-type": "application/json", **headers}
    result = invoke(
        module, http_event("POST", route.split(" ")[1], route_key=route, headers=headers, body=body)
    )
    assert result.status in (200, 400, 413), result.body
    after = _items(stack)
    if result.status != 200:
        assert after == before
        return None
    return result.body, before, after


@settings(max_examples=EXAMPLES)
@given(st.sampled_from(WHATSAPP_SAMPLES).flatmap(mutated))
def test_whatsapp_never_5xx_and_a_200_is_stored_whole_or_nothing(webhooks: Webhooks, payload: Any) -> None:
    fresh = f"wamid.property-{next(_fresh)}".encode()
    body = body_of(payload).replace(b"wamid.xyzxyz", fresh).replace(BSUID_SAMPLE_MESSAGE_ID, fresh)
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"x-hub-signature-256": signature}
    answered = _answer(webhooks.stack, webhooks.whatsapp, "POST /api/webhooks/meta-whatsapp", body, headers)
    if answered is not None:
        receipt, before, after = answered
        assert receipt["received"] is True
        if receipt["statuses"] == 0:
            _check_stored_whole(webhooks.stack, before, after, receipt["stored"])


def _fresh_update(update: Any) -> Any:
    """A new update id and message id (where they are still integers), so that examples are not duplicates."""
    if isinstance(update, dict):
        n = next(_fresh)
        if isinstance(update.get("update_id"), int):
            update["update_id"] = 10**6 + n
        for kind in ("message", "edited_message"):
            if isinstance(update.get(kind), dict) and isinstance(update[kind].get("message_id"), int):
                update[kind]["message_id"] = 10**6 + n
        if isinstance(update.get("callback_query"), dict):
            update["callback_query"]["id"] = f"callback-{n}"
    return update


@settings(max_examples=EXAMPLES)
@given(st.sampled_from(TELEGRAM_SAMPLES).flatmap(mutated))
def test_telegram_never_5xx_and_a_200_is_stored_whole_or_nothing(webhooks: Webhooks, update: Any) -> None:
    body = body_of(_fresh_update(update))
    headers = {"x-telegram-bot-api-secret-token": webhooks.telegram_secret}
    answered = _answer(webhooks.stack, webhooks.telegram, "POST /api/webhooks/telegram", body, headers)
    if answered is not None:
        receipt, before, after = answered
        if "method" in receipt:  # a button press, answered whether stored or not: the table tells which
            query = update["callback_query"]
            assert receipt == {"method": "answerCallbackQuery", "callback_query_id": query["id"]}
            stored = sum(1 for key in after if key not in before and after[key]["entity"]["S"] == "message")
            _check_stored_whole(webhooks.stack, before, after, stored)
            return
        assert receipt["outcome"] in ("stored", "ignored"), receipt
        _check_stored_whole(webhooks.stack, before, after, int(receipt["outcome"] == "stored"))


def _email_event() -> dict[str, Any]:
    event = sample("resend", "email-received-docs")
    event["data"].update(to=["hello@acme.test"], **{"from": "Ada Lovelace <ada@example.com>"})
    return event


@settings(max_examples=EXAMPLES)
@given(mutated(_email_event()), st.sampled_from(["msg", "m" * 300]))
def test_email_never_5xx_and_a_200_is_stored_whole_or_nothing(
    webhooks: Webhooks, event: Any, svix_id: str
) -> None:
    n = next(_fresh)
    body = body_of(event).replace(b"56761188-7520-42d8-8898-ff6fc54ce618", f"email-{n}".encode())
    headers = svix_headers(RESEND_SECRET, f"{svix_id}_{n}", body)
    answered = _answer(webhooks.stack, webhooks.email, "POST /api/webhooks/email", body, headers)
    if answered is not None:
        receipt, before, after = answered
        assert receipt["outcome"] in ("stored", "ignored"), receipt
        assert receipt["outcome"] == "ignored" or len(svix_id) < 256  # a delivery id too long: not stored
        _check_stored_whole(webhooks.stack, before, after, int(receipt["outcome"] == "stored"))
