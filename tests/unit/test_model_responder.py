"""The Bedrock responder's domain: history as turns, bounded replies, fallback and recorded failures."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from leadhub.conversations.conversations import record_inbound
from leadhub.conversations.jobs import reply_job_for
from leadhub.conversations.model_responder import ModelFailed, Turn, bounded, text_length, turns_from
from leadhub.conversations.models import Channel, Contact, Direction, InboundMessage, Message
from leadhub.conversations.replies import CHANNEL_TEXT_LIMITS, answer
from leadhub.conversations.responder_settings import ResponderKind, ResponderSettings
from leadhub.outbound.outbox import message_facts
from tests.fakes import FixedResponder, InMemoryConversations, ScriptedModel

ACCOUNT = "acc_m"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BEDROCK = ResponderSettings(
    ACCOUNT,
    kind=ResponderKind.BEDROCK,
    model_id="anthropic.claude-3-haiku",
    system_prompt="You are the leasing assistant of Acme.",
    history_messages=4,
    max_reply_chars=40,
)


class NoAutomations:
    def list_for_account(self, account_id: str) -> list:
        return []


class Sender:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send_text(self, conversation, text: str, reply_to, idempotency_key: str) -> str:
        self.sent.append(text)
        return f"wamid.out-{len(self.sent)}"


def message(direction: Direction, text: str | None, n: int) -> Message:
    at = f"2026-11-23T12:00:0{n}.000Z"
    return Message(
        ACCOUNT, "conv", f"msg_{n}", "lead", Channel.WHATSAPP, direction, "text", at, at, "x", f"p{n}", text
    )


def test_history_becomes_alternating_turns_that_start_and_end_with_the_lead() -> None:
    history = [
        message(Direction.OUTBOUND, "Welcome!", 0),  # ours first: dropped
        message(Direction.INBOUND, "Hi", 1),
        message(Direction.INBOUND, "Is the flat free?", 2),  # joined with the one before
        message(Direction.INBOUND, None, 3),  # a sticker: skipped
        message(Direction.OUTBOUND, "Yes.", 4),
        message(Direction.INBOUND, "Great", 5),
    ]
    assert turns_from(history) == [
        Turn("user", "Hi\nIs the flat free?"),
        Turn("assistant", "Yes."),
        Turn("user", "Great"),
    ]
    assert turns_from(history[:5]) == [Turn("user", "Hi\nIs the flat free?")]  # never ends on our turn


def test_replies_are_bounded_at_a_word() -> None:
    assert bounded("short", 40) == "short"
    assert bounded("one two three four five six seven eight nine", 20) == "one two three four…"


def test_the_cut_includes_its_marker() -> None:
    assert bounded("x" * 5000, 4096) == "x" * 4095 + "…"
    assert text_length(bounded("😀" * 3000, 4096)) <= 4096  # an emoji is two UTF-16 code units


CONTACTS = {
    Channel.WHATSAPP: (
        Contact(Channel.WHATSAPP, "+14155550100", phone="+14155550100"),
        {"phoneNumberId": "1", "waId": "14155550100"},
    ),
    Channel.TELEGRAM: (Contact(Channel.TELEGRAM, "42"), {"botId": "7", "chatId": "42"}),
    Channel.EMAIL: (
        Contact(Channel.EMAIL, "ada@example.com", email="ada@example.com"),
        {"address": "ada@example.com"},
    ),
    Channel.WEB: (Contact(Channel.WEB, "vis_ada"), {"visitorId": "vis_ada"}),
}


def ask(
    store: InMemoryConversations,
    model: ScriptedModel,
    settings: ResponderSettings = BEDROCK,
    n: int = 1,
    channel: Channel = Channel.WHATSAPP,
):
    contact, route = CONTACTS[channel]
    inbound = InboundMessage(
        account_id=ACCOUNT,
        contact=contact,
        provider_message_id=f"wamid.in-{n}",
        dedupe_keys=(),
        sent_at=f"2026-11-23T12:00:0{n}.000Z",
        type="text",
        text=f"question {n}",
        route=route,
    )
    receipt = record_inbound(inbound, store=store, now=NOW + timedelta(seconds=n))
    job = reply_job_for(None, store.messages[(ACCOUNT, receipt.message_id)])
    assert job is not None
    sender = Sender()
    outcome = answer(
        job,
        store=store,
        automations=NoAutomations(),
        responders=FixedResponder(settings),
        model=model,
        sender=sender,
        now=NOW + timedelta(seconds=n),
        last_attempt=False,
    )
    return outcome, sender


def test_the_model_answers_with_the_conversation_as_context() -> None:
    store, model = InMemoryConversations(), ScriptedModel("Yes, it is free from December.")
    outcome, sender = ask(store, model)
    assert outcome.outcome == "replied" and sender.sent == ["Yes, it is free from December."]
    [(model_id, system, turns, max_tokens)] = model.asked
    assert (model_id, system, turns) == (
        BEDROCK.model_id,
        BEDROCK.system_prompt,
        [Turn("user", "question 1")],
    )
    assert max_tokens >= 64
    [reply] = [m for m in store.messages.values() if m.direction is Direction.OUTBOUND]
    queued = replace(reply, status="queued")
    assert [f.event for f in message_facts(queued, reply)] == ["message.sent"]  # no automation.triggered
    assert (reply.type, reply.content["modelId"]) == ("ai", BEDROCK.model_id)


def test_a_long_answer_is_cut_to_the_accounts_limit() -> None:
    store = InMemoryConversations()
    _, sender = ask(store, ScriptedModel("word " * 50))
    assert sender.sent[0].endswith("…") and len(sender.sent[0]) <= BEDROCK.max_reply_chars


@given(
    text=st.text(min_size=1).filter(str.strip) | st.text(st.characters(min_codepoint=0x1F600), min_size=4000),
    max_reply_chars=st.integers(min_value=1, max_value=100_000),
    channel=st.sampled_from(list(Channel)),
)
def test_whatever_the_model_says_and_the_setting_the_sent_text_fits_both_limits(
    text: str, max_reply_chars: int, channel: Channel
) -> None:
    settings = replace(BEDROCK, max_reply_chars=max_reply_chars)
    store = InMemoryConversations()
    _, sender = ask(store, ScriptedModel(text), settings, channel=channel)
    [sent] = sender.sent
    assert len(sent) <= max_reply_chars and text_length(sent) <= CHANNEL_TEXT_LIMITS[channel]
    assert sent == text.strip() or sent.endswith("…")
    [reply] = [m for m in store.messages.values() if m.direction is Direction.OUTBOUND]
    assert reply.text == sent  # stored as sent


def test_a_model_failure_sends_the_fallback_and_records_the_error() -> None:
    settings = replace(BEDROCK, fallback_reply="An agent will answer shortly.")
    store = InMemoryConversations()
    outcome, sender = ask(store, ScriptedModel(ModelFailed("Bedrock ThrottlingException")), settings)
    assert outcome.outcome == "replied" and sender.sent == ["An agent will answer shortly."]
    [reply] = [m for m in store.messages.values() if m.direction is Direction.OUTBOUND]
    assert reply.content["responderError"] == "Bedrock ThrottlingException"


def test_without_a_fallback_the_failure_is_recorded_and_nothing_is_sent_or_retried() -> None:
    store = InMemoryConversations()
    outcome, sender = ask(store, ScriptedModel(ModelFailed("Bedrock unreachable (ReadTimeoutError)")))
    assert outcome.outcome == "model_failed" and sender.sent == []
    [reply] = [m for m in store.messages.values() if m.direction is Direction.OUTBOUND]
    assert (reply.status, reply.errors) == ("failed", ({"reason": "Bedrock unreachable (ReadTimeoutError)"},))


def test_a_redelivered_job_does_not_ask_the_model_again() -> None:
    store, model = InMemoryConversations(), ScriptedModel("First answer.")
    outcome, _ = ask(store, model)
    job = reply_job_for(None, next(m for m in store.messages.values() if m.direction is Direction.INBOUND))
    assert job is not None
    again = answer(
        job,
        store=store,
        automations=NoAutomations(),
        responders=FixedResponder(BEDROCK),
        model=model,  # its script is empty now: asking again would raise
        sender=Sender(),
        now=NOW,
        last_attempt=False,
    )
    assert (outcome.outcome, again.outcome, len(model.asked)) == ("replied", "already_replied", 1)


def test_auto_reply_off_for_the_account_answers_nothing() -> None:
    settings = ResponderSettings(ACCOUNT, auto_reply=False)
    outcome, sender = ask(InMemoryConversations(), ScriptedModel(), settings)
    assert outcome.outcome == "auto_reply_off" and sender.sent == []
