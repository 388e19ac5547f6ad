"""The rules responder and the reply's lifecycle: chosen, stored, sent once, failed with a reason (no
network: a recording sender stands in for the channels)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest

from leadhub.conversations.automation_rules import Automation, AutomationKind, OpeningHours
from leadhub.conversations.conversations import record_inbound
from leadhub.conversations.jobs import ReplyJob, reply_job_for
from leadhub.conversations.models import (
    Channel,
    Contact,
    Conversation,
    ConversationStatus,
    InboundMessage,
    Message,
)
from leadhub.conversations.replies import SendRejected, answer
from leadhub.outbound.outbox import message_facts
from tests.fakes import FixedResponder, InMemoryConversations, ScriptedModel

ACCOUNT = "acc_r"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def automation(kind: AutomationKind, reply: str, match: str | None = None, n: int = 0, **kw) -> Automation:
    return Automation(ACCOUNT, f"aut_{n}", kind, reply, f"2026-01-0{n + 1}T00:00:00.000Z", match, **kw)


@dataclass
class Sender:
    sent: list[tuple[str, str, str]] = field(default_factory=list)
    refusals: list[SendRejected] = field(default_factory=list)

    def send_text(
        self, conversation: Conversation, text: str, reply_to: Message, idempotency_key: str
    ) -> str:
        if self.refusals:
            raise self.refusals.pop(0)
        self.sent.append((conversation.conversation_id, text, idempotency_key))
        return f"wamid.out-{len(self.sent)}"


@dataclass
class Automations:
    items: list[Automation]

    def list_for_account(self, account_id: str) -> list[Automation]:
        return [a for a in self.items if a.account_id == account_id]


def inbound(store: InMemoryConversations, text: str, n: int, at: datetime = NOW) -> ReplyJob:
    message = InboundMessage(
        account_id=ACCOUNT,
        contact=Contact(Channel.WHATSAPP, "+14155550100", phone="+14155550100"),
        provider_message_id=f"wamid.in-{n}",
        dedupe_keys=(),
        sent_at="2026-11-23T12:00:00.000Z",
        type="text",
        text=text,
        route={"phoneNumberId": "1", "waId": "14155550100"},
    )
    receipt = record_inbound(message, store=store, now=at)
    stored = store.messages[(ACCOUNT, receipt.message_id)]
    job = reply_job_for(None, stored)
    assert job is not None
    return job


RULES = [
    automation(AutomationKind.GREETING, "Welcome! How can we help?", n=0),
    automation(AutomationKind.KEYWORD, "We open at 9.", match="opening hours", n=1),
    automation(AutomationKind.PATTERN, "Prices: see acme.test/prices", match=r"\bprice(s)?\b", n=2),
    automation(AutomationKind.KEYWORD, "never", match="disabled", n=3, enabled=False),
]


def run(store, sender, job, *, last_attempt: bool = False, rules=RULES, now: datetime = NOW):
    return answer(
        job,
        store=store,
        automations=Automations(rules),
        responders=FixedResponder(),
        model=ScriptedModel(),  # rules only: asking it would fail the test
        sender=sender,
        now=now,
        last_attempt=last_attempt,
    )


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("What are your OPENING HOURS?", "We open at 9."),  # a keyword wins over the greeting
        ("price?", "Prices: see acme.test/prices"),
        ("hello", "Welcome! How can we help?"),
        ("disabled", "Welcome! How can we help?"),
    ],
)
def test_the_first_message_gets_the_matching_rule_or_the_greeting(text: str, reply: str) -> None:
    store, sender = InMemoryConversations(), Sender()
    outcome = run(store, sender, inbound(store, text, 1))
    assert outcome.outcome == "replied"
    assert [t for _, t, _ in sender.sent] == [reply]


def test_later_messages_get_no_greeting_and_unmatched_ones_no_reply() -> None:
    store, sender = InMemoryConversations(), Sender()
    run(store, sender, inbound(store, "hello", 1))
    later = inbound(store, "thanks", 2, at=NOW + timedelta(seconds=5))
    assert run(store, sender, later).outcome == "no_reply"
    keyword_later = inbound(store, "and the opening hours?", 3, at=NOW + timedelta(seconds=9))
    assert run(store, sender, keyword_later).outcome == "replied"
    assert [t for _, t, _ in sender.sent] == ["Welcome! How can we help?", "We open at 9."]


def test_a_redelivered_job_never_sends_twice_and_the_reply_is_indexed_for_statuses() -> None:
    store, sender = InMemoryConversations(), Sender()
    job = inbound(store, "price", 1)
    assert run(store, sender, job).outcome == "replied"
    assert run(store, sender, job).outcome == "already_replied"
    assert len(sender.sent) == 1
    reply = store.find_message(ACCOUNT, Channel.WHATSAPP, "wamid.out-1")
    assert reply is not None and (reply.status, reply.content["automationId"]) == ("sent", "aut_2")
    assert reply.content["replyTo"] == store.find_message(ACCOUNT, Channel.WHATSAPP, "wamid.in-1").message_id


def test_a_transient_refusal_raises_for_a_retry_which_sends_the_stored_reply() -> None:
    store, sender = InMemoryConversations(), Sender(refusals=[SendRejected("rate limited", permanent=False)])
    job = inbound(store, "price", 1)
    with pytest.raises(SendRejected):
        run(store, sender, job)
    [queued] = [m for m in store.messages.values() if m.direction.value == "outbound"]
    assert queued.status == "queued"
    assert run(store, sender, job).outcome == "replied"
    assert [key for _, _, key in sender.sent] == [queued.message_id]  # the same reply, the same key


def test_a_permanent_refusal_marks_the_reply_failed_with_the_reason() -> None:
    refusal = SendRejected("WhatsApp 131047: Re-engagement message", permanent=True)
    store, sender = InMemoryConversations(), Sender(refusals=[refusal])
    job = inbound(store, "price", 1)
    assert run(store, sender, job).outcome == "failed"
    [reply] = [m for m in store.messages.values() if m.direction.value == "outbound"]
    assert (reply.status, reply.errors) == ("failed", ({"reason": "WhatsApp 131047: Re-engagement message"},))
    assert run(store, sender, job).outcome == "already_replied"


def test_the_last_attempt_marks_a_transient_failure_failed_and_the_job_exhausted() -> None:
    refusal = SendRejected("Graph API down", permanent=False)
    store, sender = InMemoryConversations(), Sender(refusals=[refusal])
    assert run(store, sender, inbound(store, "price", 1), last_attempt=True).outcome == "exhausted"
    [reply] = [m for m in store.messages.values() if m.direction.value == "outbound"]
    assert (reply.status, reply.errors) == ("failed", ({"reason": "Graph API down", "retryable": True},))


def test_a_job_redriven_from_the_dlq_sends_its_exhausted_reply_and_announces_only_the_send() -> None:
    refusal = SendRejected("Graph API down", permanent=False)
    store, sender = InMemoryConversations(), Sender(refusals=[refusal])
    job = inbound(store, "price", 1)
    assert run(store, sender, job, last_attempt=True).outcome == "exhausted"
    [failed] = [m for m in store.messages.values() if m.direction.value == "outbound"]

    later = NOW + timedelta(hours=3)  # the operator moves the job back once the provider is healthy
    assert run(store, sender, job, now=later).outcome == "replied"
    assert run(store, sender, job, now=later).outcome == "already_replied"
    assert sender.sent == [(job.conversation_id, "Prices: see acme.test/prices", failed.message_id)]
    sent = store.messages[(ACCOUNT, failed.message_id)]
    assert (sent.status, sent.errors, sent.status_at) == ("sent", (), "2026-11-23T15:00:00.000Z")
    requeued = replace(sent, status="queued", status_at=None, provider_message_id="")
    assert message_facts(failed, requeued) == []
    assert [f.event for f in message_facts(requeued, sent)] == ["message.sent", "automation.triggered"]


def test_a_redriven_job_whose_provider_still_refuses_fails_the_reply_again() -> None:
    refusals = [SendRejected("Graph API down", permanent=False), SendRejected("still down", permanent=False)]
    store, sender = InMemoryConversations(), Sender(refusals=refusals)
    job = inbound(store, "price", 1)
    assert run(store, sender, job, last_attempt=True).outcome == "exhausted"
    assert run(store, sender, job, last_attempt=True).outcome == "exhausted"
    [reply] = [m for m in store.messages.values() if m.direction.value == "outbound"]
    assert (reply.status, reply.errors) == ("failed", ({"reason": "still down", "retryable": True},))
    assert sender.sent == []


def test_sending_is_announced_as_message_sent_and_automation_triggered() -> None:
    store, sender = InMemoryConversations(), Sender()
    run(store, sender, inbound(store, "price", 1))
    [reply] = [m for m in store.messages.values() if m.direction.value == "outbound"]
    queued = replace(reply, status="queued", status_at=None, provider_message_id="")
    assert message_facts(None, queued) == []  # stored, not yet sent: nothing to announce
    facts = message_facts(queued, reply)
    assert [f.event for f in facts] == ["message.sent", "automation.triggered"]
    assert (facts[1].data["automationId"], facts[0].data["text"]) == ("aut_2", "Prices: see acme.test/prices")


def test_outbound_messages_and_incomplete_emails_ask_for_no_answer() -> None:
    store = InMemoryConversations()
    job = inbound(store, "hello", 1)
    stored = store.find_message(ACCOUNT, Channel.WHATSAPP, job.provider_message_id)
    assert stored is not None
    assert reply_job_for(stored, stored) is None  # already received before: a retried record
    assert reply_job_for(None, replace(stored, status="awaiting_content")) is None


def test_a_message_of_a_closed_or_unknown_conversation_is_skipped() -> None:
    store, sender = InMemoryConversations(), Sender()
    job = inbound(store, "price", 1)
    key = (ACCOUNT, job.conversation_id)
    store.conversations[key] = replace(store.conversations[key], status=ConversationStatus.CLOSED)
    assert run(store, sender, job).outcome == "skipped"
    unknown = ReplyJob(ACCOUNT, "conv_x", Channel.WHATSAPP, "wamid.nope")
    assert run(store, sender, unknown).outcome == "skipped"
    assert sender.sent == []


# -- out of hours --------------------------------------------------------------------------------

# Open Monday to Friday, 09:00-18:00 UTC; NOW (Monday 12:00) is open.
OFFICE = OpeningHours("UTC", ("mon", "tue", "wed", "thu", "fri"), "09:00", "18:00")
OUT_OF_HOURS = automation(AutomationKind.OUT_OF_HOURS, "Closed; we answer from 9:00.", n=4, hours=OFFICE)
NIGHT = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)  # Monday 22:00


def replies(sender: Sender) -> list[str]:
    return [t for _, t, _ in sender.sent]


def test_outside_the_hours_the_out_of_hours_message_answers_instead_of_the_greeting() -> None:
    store, sender = InMemoryConversations(), Sender()
    outcome = run(store, sender, inbound(store, "hello", 1, at=NIGHT), rules=[*RULES, OUT_OF_HOURS])
    assert (outcome.outcome, outcome.automation_id) == ("replied", "aut_4")
    assert replies(sender) == ["Closed; we answer from 9:00."]


def test_a_keyword_still_answers_at_night_and_in_hours_there_is_no_out_of_hours_message() -> None:
    store, sender = InMemoryConversations(), Sender()
    run(store, sender, inbound(store, "price?", 1, at=NIGHT), rules=[*RULES, OUT_OF_HOURS])
    assert replies(sender) == ["Prices: see acme.test/prices"]
    store, sender = InMemoryConversations(), Sender()
    run(store, sender, inbound(store, "hello", 1, at=NOW), rules=[*RULES, OUT_OF_HOURS])
    assert replies(sender) == ["Welcome! How can we help?"]


def test_the_out_of_hours_message_goes_out_once_per_closed_period() -> None:
    store, sender = InMemoryConversations(), Sender()

    def answered(text: str, n: int, at: datetime) -> str:
        return run(store, sender, inbound(store, text, n, at=at), rules=[OUT_OF_HOURS], now=at).outcome

    assert answered("hello", 1, NIGHT) == "replied"
    assert answered("anyone?", 2, NIGHT + timedelta(hours=3)) == "no_reply"
    assert answered("good morning", 3, NIGHT + timedelta(hours=12)) == "no_reply"  # Tuesday 10:00
    assert answered("hello again", 4, NIGHT + timedelta(days=1)) == "replied"  # Tuesday night
    assert replies(sender) == ["Closed; we answer from 9:00."] * 2


def test_every_channel_has_a_text_limit_for_what_is_sent_on_it() -> None:
    from leadhub.conversations.models import Channel
    from leadhub.conversations.replies import CHANNEL_TEXT_LIMITS

    assert set(CHANNEL_TEXT_LIMITS) == set(Channel)
