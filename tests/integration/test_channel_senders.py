"""Replies through each provider's API (loopback fakes): what is sent, and which refusals are final."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.headerregistry import HeaderRegistry
from typing import Any

import pytest

from leadhub.adapters.channel_senders import ChannelSenders
from leadhub.adapters.graph_api import GraphApi
from leadhub.adapters.resend_api import ResendApi
from leadhub.adapters.telegram_bot_api import TelegramBotApi
from leadhub.domain.replies import SendRejected
from leadhub.models.conversation import Channel, Conversation, ConversationStatus, Direction, Message
from leadhub.models.integration import Integration
from local.fake_providers import ApiCall, FakeGraphApi, FakeResendApi, FakeTelegramBotApi, resend_error

ACCOUNT = "acc_s"


class Integrations:
    def __init__(self) -> None:
        self.items = {
            Channel.WHATSAPP: Integration(ACCOUNT, Channel.WHATSAPP, "555", "t", b"EAAG-ok"),
            Channel.TELEGRAM: Integration(ACCOUNT, Channel.TELEGRAM, "h", "t", b"7000001:AAH-ok"),
            Channel.EMAIL: Integration(
                ACCOUNT,
                Channel.EMAIL,
                "shop.example",
                "t",
                b"",
                {"emailFromAddress": "hi@shop.example", "emailFromName": "Shop"},
            ),
        }

    def get(self, account_id: str, channel: Channel) -> Integration | None:
        return self.items.get(channel) if account_id == ACCOUNT else None


class PlainCipher:  # the credentials above are stored "encrypted" as their plain bytes
    def decrypt(self, ciphertext: bytes, context: Any) -> str:
        return ciphertext.decode()


class Secret:
    def value(self) -> str:
        return "re_key"


@pytest.fixture
def fakes() -> Iterator[tuple[FakeGraphApi, FakeTelegramBotApi, FakeResendApi]]:
    graph, telegram, resend = (
        FakeGraphApi("1", "555", "EAAG-ok"),
        FakeTelegramBotApi("7000001:AAH-ok"),
        FakeResendApi("re_key"),
    )
    yield graph, telegram, resend
    for fake in (graph, telegram, resend):
        fake.close()


@pytest.fixture
def senders(fakes) -> ChannelSenders:
    graph, telegram, resend = fakes
    return ChannelSenders(
        integrations=Integrations(),
        cipher=PlainCipher(),
        graph=GraphApi(graph.base_url),
        telegram=TelegramBotApi(telegram.url),
        resend=ResendApi(resend.url, Secret()),
        receiving_domain="inbound.shop.example",
    )


def conversation(channel: Channel, **route: str) -> Conversation:
    return Conversation(ACCOUNT, "conv_1", "lead_1", channel, ConversationStatus.OPEN, "t", "t", route)


def inbound(channel: Channel, provider_id: str, **content: Any) -> Message:
    return Message(
        ACCOUNT,
        "conv_1",
        "msg_in",
        "lead_1",
        channel,
        Direction.INBOUND,
        "text",
        "t",
        "t",
        "received",
        provider_id,
        "hi",
        content,
    )


def test_whatsapp_replies_quote_the_message_they_answer(senders, fakes) -> None:
    graph = fakes[0]
    provider_id = senders.send_text(
        conversation(Channel.WHATSAPP, phoneNumberId="555", waId="14155550100"),
        "Hello",
        inbound(Channel.WHATSAPP, "wamid.in"),
        "k",
    )
    assert provider_id == "wamid.fake-1"
    [message] = graph.sent
    assert (message["to"], message["text"], message["context"]) == (
        "14155550100",
        {"body": "Hello"},
        {"message_id": "wamid.in"},
    )


@pytest.mark.parametrize(
    ("status", "code", "permanent"),
    [
        (400, 131047, True),
        (400, 131026, True),
        (401, 190, True),
        (400, 130429, False),
        (429, 4, False),
        (400, 131000, False),
    ],
)
def test_whatsapp_refusals_are_final_unless_transient(
    senders, fakes, status: int, code: int, permanent: bool
) -> None:
    graph = fakes[0]
    graph.route(
        "POST",
        r"/v23\.0/555/messages",
        lambda call, m: (status, {"error": {"code": code, "message": "refused"}}),
    )
    with pytest.raises(SendRejected) as refused:
        senders.send_text(
            conversation(Channel.WHATSAPP, phoneNumberId="555", waId="1"),
            "x",
            inbound(Channel.WHATSAPP, "w"),
            "k",
        )
    assert refused.value.permanent is permanent
    assert refused.value.reason == f"WhatsApp {code}: refused"


def test_a_graph_api_outage_is_transient(senders, fakes) -> None:
    fakes[0].route("POST", r"/v23\.0/555/messages", lambda call, m: (503, {}))
    with pytest.raises(SendRejected) as refused:
        senders.send_text(
            conversation(Channel.WHATSAPP, phoneNumberId="555", waId="1"),
            "x",
            inbound(Channel.WHATSAPP, "w"),
            "k",
        )
    assert refused.value.permanent is False


def test_telegram_replies_go_to_the_chat_as_a_reply(senders, fakes) -> None:
    telegram = fakes[1]
    provider_id = senders.send_text(
        conversation(Channel.TELEGRAM, botId="7000001", chatId="42"),
        "Hello",
        inbound(Channel.TELEGRAM, "7000001:42:1365"),
        "k",
    )
    assert provider_id == "7000001:42:900000"
    [message] = telegram.sent
    assert (message["chat_id"], message["text"], message["reply_parameters"]["message_id"]) == (
        42,
        "Hello",
        1365,
    )


def telegram_answer(status: int, body: dict[str, Any]):
    def answer(call: ApiCall, match: re.Match[str]) -> tuple[int, Any]:
        return status, body

    return answer


def test_telegram_429_says_when_to_retry_and_403_is_final(senders, fakes) -> None:
    telegram = fakes[1]
    route = r"/bot(?P<token>[^/]+)/sendMessage"
    telegram.route(
        "POST",
        route,
        telegram_answer(
            429,
            {
                "ok": False,
                "description": "Too Many Requests: retry after 7",
                "parameters": {"retry_after": 7},
            },
        ),
    )
    target = conversation(Channel.TELEGRAM, botId="7000001", chatId="42")
    with pytest.raises(SendRejected) as limited:
        senders.send_text(target, "x", inbound(Channel.TELEGRAM, "7000001:42:1"), "k")
    assert (limited.value.permanent, limited.value.retry_after) == (False, 7.0)
    telegram.route(
        "POST",
        route,
        telegram_answer(403, {"ok": False, "description": "Forbidden: bot was blocked by the user"}),
    )
    with pytest.raises(SendRejected) as blocked:
        senders.send_text(target, "x", inbound(Channel.TELEGRAM, "7000001:42:1"), "k")
    assert blocked.value.permanent and "blocked" in blocked.value.reason
    assert blocked.value.unreachable and not limited.value.unreachable


def test_email_replies_thread_and_carry_an_idempotency_key(senders, fakes) -> None:
    resend = fakes[2]
    question = inbound(
        Channel.EMAIL,
        "e-1",
        subject="Flat on Main St",
        messageId="<q@example.com>",
        references="<a@shop.example>",
    )
    target = conversation(Channel.EMAIL, address="ada@example.com")
    first = senders.send_text(target, "It is free.", question, "msg_reply_1")
    again = senders.send_text(target, "It is free.", question, "msg_reply_1")
    [email] = resend.sent  # Resend deduplicates by the key
    assert first == again == email["id"]
    assert email["from"] == "Shop <hi@shop.example>" and email["to"] == ["ada@example.com"]
    assert (email["subject"], email["reply_to"]) == (
        "Re: Flat on Main St",
        "reply+conv_1@inbound.shop.example",
    )
    assert email["headers"] == {
        "In-Reply-To": "<q@example.com>",
        "References": "<a@shop.example> <q@example.com>",
    }
    assert email["text"] == "It is free." and email["idempotencyKey"] == "msg_reply_1"


def email_senders(fakes, from_name: str) -> ChannelSenders:
    integrations = Integrations()
    settings = {"emailFromAddress": "hi@shop.example", "emailFromName": from_name}
    integrations.items[Channel.EMAIL] = Integration(
        ACCOUNT, Channel.EMAIL, "shop.example", "t", b"", settings
    )
    return ChannelSenders(
        integrations=integrations,
        cipher=PlainCipher(),
        graph=GraphApi(fakes[0].base_url),
        telegram=TelegramBotApi(fakes[1].url),
        resend=ResendApi(fakes[2].url, Secret()),
        receiving_domain="inbound.shop.example",
    )


@pytest.mark.parametrize(
    ("name", "sent_from"),
    [
        ("Acme, Inc.", '"Acme, Inc." <hi@shop.example>'),
        ('Ada "the" Shop \\ Co.', '"Ada \\"the\\" Shop \\\\ Co." <hi@shop.example>'),
        ("Zoë's Café", "Zoë's Café <hi@shop.example>"),
        ("Łódź: Sklep <1>", '"Łódź: Sklep <1>" <hi@shop.example>'),
    ],
)
def test_the_senders_name_is_quoted_as_rfc_5322_needs_and_resend_accepts_it(
    fakes, name: str, sent_from: str
) -> None:
    resend = fakes[2]
    target = conversation(Channel.EMAIL, address="ada@example.com")
    senders = email_senders(fakes, name)

    senders.send_text(target, "Hi", inbound(Channel.EMAIL, "e-1", subject="Q"), "msg_reply_1")

    [email] = resend.sent  # the fake refuses (422) a `from` that is not one RFC 5322 mailbox
    assert email["from"] == sent_from
    [mailbox] = HeaderRegistry()("from", email["from"]).addresses  # as a mail reader reads it
    assert (mailbox.display_name, mailbox.addr_spec) == (name, "hi@shop.example")


def test_the_old_unquoted_from_is_what_resend_refuses(fakes) -> None:
    resend = fakes[2]
    answer = ResendApi(resend.url, Secret()).send_email(
        {"from": "Acme, Inc. <hi@shop.example>", "to": ["ada@example.com"], "subject": "Hi", "text": "x"},
        idempotency_key="k",
    )
    assert (answer.status, answer.body["name"]) == (422, "invalid_from_address")
    assert resend.sent == []


@pytest.mark.parametrize(
    ("status", "name", "permanent"),
    [
        (429, "rate_limit_exceeded", False),
        (429, "daily_quota_exceeded", False),
        (429, "monthly_quota_exceeded", False),
        (409, "concurrent_idempotent_requests", False),
        (409, "invalid_idempotent_request", True),
        (422, "validation_error", True),
        (422, "invalid_from_address", True),
        (422, "missing_required_field", True),
        (400, "invalid_idempotency_key", True),
        (403, "invalid_api_key", True),
        (451, "security_error", True),
        (500, "application_error", False),
    ],
)
def test_resend_refusals_are_final_unless_they_pass_with_time(
    senders, fakes, status: int, name: str, permanent: bool
) -> None:
    fakes[2].fail_next(1, status, resend_error(status, name, "refused"))
    with pytest.raises(SendRejected) as refused:
        senders.send_text(
            conversation(Channel.EMAIL, address="ada@example.com"),
            "x",
            inbound(Channel.EMAIL, "e-1", subject="Q"),
            "msg_reply_1",
        )
    assert refused.value.permanent is permanent
    if status < 500:
        assert refused.value.reason == f"Resend {status} {name}: refused"


def test_a_send_resend_is_still_processing_is_retried_with_the_same_key_and_sent_once(senders, fakes) -> None:
    resend = fakes[2]
    target = conversation(Channel.EMAIL, address="ada@example.com")
    question = inbound(Channel.EMAIL, "e-1", subject="Q")
    resend.in_progress.add("msg_reply_1")  # an earlier attempt's request has not finished at Resend
    with pytest.raises(SendRejected) as concurrent:
        senders.send_text(target, "It is free.", question, "msg_reply_1")
    assert not concurrent.value.permanent and "concurrent_idempotent_requests" in concurrent.value.reason
    assert resend.sent == []

    resend.in_progress.clear()
    sent = senders.send_text(target, "It is free.", question, "msg_reply_1")
    again = senders.send_text(target, "It is free.", question, "msg_reply_1")
    [email] = resend.sent
    assert sent == again == email["id"]

    with pytest.raises(SendRejected) as reused:  # the same key for another payload: never sent
        senders.send_text(target, "Something else", question, "msg_reply_1")
    assert reused.value.permanent and "invalid_idempotent_request" in reused.value.reason
    assert len(resend.sent) == 1
