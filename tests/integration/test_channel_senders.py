"""Replies through each provider's API (loopback fakes): what is sent, and which refusals are final."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.headerregistry import HeaderRegistry
from typing import Any

import pytest

from leadhub.channels.email.adapters.resend_api import ResendApi
from leadhub.channels.models import Integration
from leadhub.channels.senders import ChannelSenders
from leadhub.channels.telegram.adapters.bot_api import TelegramBotApi
from leadhub.channels.whatsapp.adapters.graph_api import GraphApi
from leadhub.conversations.agent_actions import queue_manual_message
from leadhub.conversations.conversations import record_inbound
from leadhub.conversations.jobs import job_from_message
from leadhub.conversations.models import (
    Channel,
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    InboundMessage,
    Message,
)
from leadhub.conversations.replies import SendRejected, send_queued
from leadhub.platform.errors import StorageUnavailable
from local.fake_providers import (
    GRAPH_ERRORS,
    RE_ENGAGEMENT_DETAILS,
    FakeGraphApi,
    FakeResendApi,
    FakeTelegramBotApi,
    resend_error,
)
from tests.channel_senders import all_channel_senders
from tests.fakes import InMemoryConversations

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
    resend.add_domain("shop.example", status="verified")  # Resend sends only from a verified domain
    yield graph, telegram, resend
    for fake in (graph, telegram, resend):
        fake.close()


@pytest.fixture
def senders(fakes) -> ChannelSenders:
    graph, telegram, resend = fakes
    return all_channel_senders(
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


BSUID = "US.13491208655302741918"


@pytest.mark.parametrize(
    ("code", "details", "permanent"),
    [
        (131047, RE_ENGAGEMENT_DETAILS, True),
        (131026, None, True),
        (190, None, True),
        (130429, "Cloud API message throughput has been reached.", False),
        (4, None, False),
        (131000, None, False),  # Meta's own failure (HTTP 500)
    ],
)
def test_whatsapp_refusals_are_final_unless_transient_and_keep_metas_details(
    senders, fakes, code: int, details: str | None, permanent: bool
) -> None:
    graph = fakes[0]
    graph.refuse_next(code, details)
    with pytest.raises(SendRejected) as refused:
        senders.send_text(
            conversation(Channel.WHATSAPP, phoneNumberId="555", waId="1"),
            "x",
            inbound(Channel.WHATSAPP, "w"),
            "k",
        )
    assert refused.value.permanent is permanent
    if code != 131000:
        message = GRAPH_ERRORS[code][1]
        expected = f"WhatsApp {code}: {message}" + (f" ({details})" if details else "")
        assert refused.value.reason == expected


def test_a_user_known_only_by_their_business_scoped_id_is_written_to_through_recipient(
    senders, fakes
) -> None:
    graph = fakes[0]
    sent_id = senders.send_text(
        conversation(Channel.WHATSAPP, phoneNumberId="555", userId=BSUID),
        "Hello",
        inbound(Channel.WHATSAPP, "wamid.in"),
        "k",
    )
    [message] = graph.sent
    assert (message["recipient"], "to" in message, sent_id) == (BSUID, False, "wamid.fake-1")
    [status] = graph.statuses
    assert (status["recipient_user_id"], "recipient_id" in status) == (BSUID, False)


def test_a_number_is_preferred_and_a_business_scoped_id_stored_as_wa_id_goes_to_recipient(
    senders, fakes
) -> None:
    graph = fakes[0]
    for route in ({"waId": "14155550100", "userId": BSUID}, {"waId": BSUID}):  # the second: stored before
        senders.send_text(conversation(Channel.WHATSAPP, phoneNumberId="555", **route), "Hi", None, "k")
    assert [(m.get("to"), m.get("recipient")) for m in graph.sent] == [("14155550100", None), (None, BSUID)]


def test_the_fake_graph_api_refuses_what_meta_refuses(fakes) -> None:
    graph = fakes[0]
    api = GraphApi(graph.base_url)
    base = {"messaging_product": "whatsapp", "recipient_type": "individual", "type": "text"}
    for payload, code in [
        ({**base, "to": BSUID, "text": {"body": "x"}}, 131009),  # `to` takes phone numbers only
        ({**base, "recipient": "14155550100", "text": {"body": "x"}}, 131009),
        ({**base, "text": {"body": "x"}}, 131008),
        ({**base, "to": "14155550100", "text": {"body": "x" * 4097}}, 100),
    ]:
        answer = api.send_message("555", "EAAG-ok", payload)
        error = answer.body["error"]
        assert (answer.status, error["code"], error["type"]) == (400, code, "OAuthException")
        assert error["error_data"]["messaging_product"] == "whatsapp" and error["fbtrace_id"]
    assert graph.sent == []


def test_a_closed_24_hour_window_is_reported_as_a_failed_status(senders, fakes) -> None:
    graph = fakes[0]
    graph.close_window("14155550100")
    senders.send_text(
        conversation(Channel.WHATSAPP, phoneNumberId="555", waId="14155550100"), "Hi", None, "k"
    )
    [status] = graph.statuses
    assert (status["status"], status["recipient_id"], status["errors"][0]["code"]) == (
        "failed",
        "14155550100",
        131047,
    )
    assert "recipient_user_id" not in status  # a failed status of a message sent to a number has none


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


def test_telegram_429_says_when_to_retry_and_403_is_final(senders, fakes) -> None:
    telegram = fakes[1]
    target = conversation(Channel.TELEGRAM, botId="7000001", chatId="42")
    telegram.flood(7)
    with pytest.raises(SendRejected) as limited:
        senders.send_text(target, "x", inbound(Channel.TELEGRAM, "7000001:42:1"), "k")
    assert (limited.value.permanent, limited.value.retry_after) == (False, 7.0)
    assert limited.value.reason == "Telegram: Too Many Requests: retry after 7"
    telegram.block(42)
    with pytest.raises(SendRejected) as blocked:
        senders.send_text(target, "x", inbound(Channel.TELEGRAM, "7000001:42:1"), "k")
    assert (
        blocked.value.permanent and blocked.value.reason == "Telegram: Forbidden: bot was blocked by the user"
    )
    assert blocked.value.unreachable and not limited.value.unreachable


def test_telegram_refuses_a_text_over_4096_characters_for_good(senders, fakes) -> None:
    target = conversation(Channel.TELEGRAM, botId="7000001", chatId="42")
    with pytest.raises(SendRejected) as refused:
        senders.send_text(target, "x" * 4097, None, "k")
    assert refused.value.permanent and refused.value.reason == "Telegram: Bad Request: message is too long"
    assert senders.send_text(target, "x" * 4096, None, "k") == "7000001:42:900000"


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
    return all_channel_senders(
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
    ("sender", "status"),
    [
        ("Shop <hi@shop.example>", 200),
        ("hi@SHOP.example", 200),  # domains compare without case
        ("Acme <onboarding@resend.dev>", 200),  # Resend's shared domain for trying the API
        ("hi@other.example", 403),  # not the account's
        ("hi@news.shop.example", 403),  # a subdomain is a domain of its own
        ("hi@half.example", 403),  # sending records verified, receiving not yet: partially_verified
        ("hi@pending.example", 403),
    ],
)
def test_the_fake_resend_sends_only_from_a_verified_domain(fakes, sender: str, status: int) -> None:
    resend = fakes[2]
    api = ResendApi(resend.url, Secret())
    half = resend.add_domain("half.example", status="verified")
    api.enable_sending_and_receiving(half["id"])  # its new receiving MX record: not_started
    resend.add_domain("pending.example", status="pending")
    answer = api.send_email(
        {"from": sender, "to": ["ada@example.com"], "subject": "Hi", "text": "x"}, idempotency_key="k"
    )
    assert answer.status == status
    if status == 403:
        domain = sender.rsplit("@", 1)[1]
        assert answer.body == resend_error(
            403,
            "validation_error",
            f"The {domain} domain is not verified. Please, add and verify your domain on "
            "https://resend.com/domains",
        )
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


class CrashesOnceAfterSending(InMemoryConversations):
    """The worker dies between Resend accepting the email and our recording it (a Lambda timeout)."""

    def __init__(self) -> None:
        super().__init__()
        self.crashes = 1

    def mark_sent(self, sent: Message, previous: Message) -> bool:
        if self.crashes:
            self.crashes -= 1
            raise StorageUnavailable("the function timed out")
        return super().mark_sent(sent, previous)


class Jobs:
    def __init__(self) -> None:
        self.bodies: list[dict[str, str]] = []

    def send(
        self, body: dict[str, str], *, group_id: str | None = None, dedupe_id: str | None = None
    ) -> None:
        self.bodies.append(body)


def lead_emails(store: InMemoryConversations, n: int, at: datetime) -> None:
    email = InboundMessage(
        account_id=ACCOUNT,
        contact=Contact(Channel.EMAIL, "ada@example.com", email="ada@example.com"),
        provider_message_id=f"em_{n}",
        dedupe_keys=(),
        sent_at=at.isoformat(),
        type="email",
        text=f"Question {n}",
        content={"subject": f"Question {n}", "messageId": f"<q{n}@example.com>"},
        route={"address": "ada@example.com", "to": "hi@shop.example"},
    )
    record_inbound(email, store=store, now=at)


def test_a_retried_agent_email_is_the_same_request_even_when_the_lead_wrote_again_meanwhile(
    senders, fakes
) -> None:
    """Resend refuses a reused Idempotency-Key with another payload (409 invalid_idempotent_request, for
    good): the retry must send what the first attempt sent, threaded under the email the agent answered."""
    resend, store, jobs = fakes[2], CrashesOnceAfterSending(), Jobs()
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    lead_emails(store, 1, now)
    [conversation_id] = [c.conversation_id for c in store.conversations.values()]
    queued = queue_manual_message(
        ACCOUNT, conversation_id, "Yes, it is free.", store=store, queue=jobs, actor="key_1", now=now
    )
    job = job_from_message(jobs.bodies[0])
    with pytest.raises(StorageUnavailable):
        send_queued(job, store=store, sender=senders, now=now, last_attempt=False)
    lead_emails(store, 2, now + timedelta(minutes=1))  # before the job's retry

    outcome = send_queued(
        job, store=store, sender=senders, now=now + timedelta(minutes=2), last_attempt=False
    )

    [email] = resend.sent
    assert outcome.outcome == "sent", store.messages[(ACCOUNT, queued.message_id)].errors
    assert email["headers"]["In-Reply-To"] == "<q1@example.com>" and email["subject"] == "Re: Question 1"
    sent = store.messages[(ACCOUNT, queued.message_id)]
    assert (sent.status, sent.provider_message_id) == ("sent", email["id"])
