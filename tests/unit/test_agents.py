"""Agents: manual messages through the conversation queue, taking over from the responder, closing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from leadhub.accounts.models import Principal
from leadhub.conversations.agent_actions import close_conversation, queue_manual_message, set_auto_reply
from leadhub.conversations.automation_rules import Automation, AutomationKind
from leadhub.conversations.conversations import record_inbound, record_status
from leadhub.conversations.jobs import ReplyJob, job_from_message
from leadhub.conversations.models import Channel, Contact, Conversation, InboundMessage, Message, StatusUpdate
from leadhub.conversations.replies import SendRejected, answer, send_queued
from leadhub.outbound.outbox import conversation_facts, message_facts
from leadhub.platform.errors import Conflict, NotFound, StorageUnavailable
from tests.fakes import FixedResponder, InMemoryConversations, ScriptedModel

ACCOUNT = "acc_a"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass
class Queue:
    jobs: list[tuple[dict[str, str], str | None]] = field(default_factory=list)

    def send(
        self, body: dict[str, str], *, group_id: str | None = None, dedupe_id: str | None = None
    ) -> None:
        self.jobs.append((body, group_id))


@dataclass
class Sender:
    sent: list[tuple[str, str | None]] = field(default_factory=list)

    def send_text(
        self, conversation: Conversation, text: str, reply_to: Message | None, idempotency_key: str
    ) -> str:
        self.sent.append((text, reply_to.provider_message_id if reply_to else None))
        return f"wamid.out-{len(self.sent)}"


def write(store: InMemoryConversations, n: int, at: datetime = NOW) -> str:
    message = InboundMessage(
        account_id=ACCOUNT,
        contact=Contact(Channel.WHATSAPP, "+14155550100", phone="+14155550100"),
        provider_message_id=f"wamid.in-{n}",
        dedupe_keys=(),
        sent_at=at.isoformat(),
        type="text",
        text="hello",
        route={"phoneNumberId": "1", "waId": "14155550100"},
    )
    receipt = record_inbound(message, store=store, now=at)
    assert receipt.conversation_id is not None
    return receipt.conversation_id


def test_a_manual_message_is_queued_in_the_conversations_group_then_sent_as_an_answer() -> None:
    store, queue, sender = InMemoryConversations(), Queue(), Sender()
    conversation_id = write(store, 1)
    message = queue_manual_message(
        ACCOUNT, conversation_id, "An agent here", store=store, queue=queue, actor="key_1", now=NOW
    )
    assert (message.status, message.type, message.content["actor"]) == ("queued", "manual", "key_1")
    [(body, group)] = queue.jobs
    assert group == conversation_id
    job = job_from_message(body)
    assert not isinstance(job, ReplyJob)

    outcome = send_queued(job, store=store, sender=sender, now=NOW, last_attempt=False)

    assert outcome.outcome == "sent" and sender.sent == [("An agent here", "wamid.in-1")]
    sent = store.messages[(ACCOUNT, message.message_id)]
    [fact] = message_facts(message, sent)
    assert (fact.event, fact.data["type"]) == ("message.sent", "manual")
    assert send_queued(job, store=store, sender=sender, now=NOW, last_attempt=False).outcome == "skipped"
    assert len(sender.sent) == 1


@pytest.mark.parametrize(
    "reports",
    [["sent", "delivered"], ["delivered", "sent"], ["read", "delivered", "sent"], ["sent", "failed", "read"]],
)
def test_statuses_reported_before_the_send_is_recorded_land_forward_only(reports: list[str]) -> None:
    """Meta can post statuses before its answer to our send reaches us: they are held, then applied."""
    store, queue = InMemoryConversations(), Queue()
    conversation_id = write(store, 1)
    message = queue_manual_message(
        ACCOUNT, conversation_id, "Hi", store=store, queue=queue, actor="k", now=NOW
    )

    class ReportsFirst:  # the provider's status webhooks arrive while its answer is on its way
        def send_text(self, conversation, text, reply_to, idempotency_key) -> str:
            for n, status in enumerate(reports):
                at = (NOW + timedelta(seconds=n + 1)).isoformat()
                update = StatusUpdate(ACCOUNT, Channel.WHATSAPP, "wamid.out-1", status, at)
                assert record_status(update, store=store) is False  # nothing to change yet
            return "wamid.out-1"

    job = job_from_message(queue.jobs[0][0])
    assert send_queued(job, store=store, sender=ReportsFirst(), now=NOW, last_attempt=False).outcome == "sent"

    furthest = max(reports, key=["sent", "delivered", "read", "failed"].index)
    assert store.messages[(ACCOUNT, message.message_id)].status == furthest


def test_a_status_held_while_the_send_is_recorded_is_applied_by_the_webhook_itself() -> None:
    """The send recorded between the webhook's lookup and its hold: the webhook's second lookup sees it."""
    store, queue, sender = InMemoryConversations(), Queue(), Sender()
    conversation_id = write(store, 1)
    message = queue_manual_message(
        ACCOUNT, conversation_id, "Hi", store=store, queue=queue, actor="k", now=NOW
    )
    send_queued(job_from_message(queue.jobs[0][0]), store=store, sender=sender, now=NOW, last_attempt=False)
    recorded = store.provider_ids.pop((ACCOUNT, Channel.WHATSAPP, "wamid.out-1"))
    hold = store.hold_status

    def hold_then_the_send_is_recorded(update: StatusUpdate) -> None:
        hold(update)
        store.provider_ids[(ACCOUNT, Channel.WHATSAPP, "wamid.out-1")] = recorded

    store.hold_status = hold_then_the_send_is_recorded  # type: ignore[method-assign]
    update = StatusUpdate(ACCOUNT, Channel.WHATSAPP, "wamid.out-1", "delivered", NOW.isoformat())
    assert record_status(update, store=store) is True
    assert store.messages[(ACCOUNT, message.message_id)].status == "delivered"


def test_unknown_or_closed_conversations_refuse_manual_messages() -> None:
    store, queue = InMemoryConversations(), Queue()
    with pytest.raises(NotFound):
        queue_manual_message(ACCOUNT, "conv_nope", "x", store=store, queue=queue, actor="k", now=NOW)
    conversation_id = write(store, 1)
    close_conversation(ACCOUNT, conversation_id, store=store, now=NOW)
    with pytest.raises(Conflict):
        queue_manual_message(ACCOUNT, conversation_id, "x", store=store, queue=queue, actor="k", now=NOW)
    assert queue.jobs == []


def test_closing_is_announced_and_the_next_message_opens_a_new_conversation() -> None:
    store = InMemoryConversations()
    first = write(store, 1)
    before = store.conversations[(ACCOUNT, first)]
    closed = close_conversation(ACCOUNT, first, store=store, now=NOW + timedelta(minutes=1))
    assert (closed.status.value, closed.closed_at) == ("closed", "2026-11-23T12:01:00.000Z")
    [fact] = conversation_facts(before, closed)
    assert fact.event == "conversation.closed"
    assert (
        close_conversation(ACCOUNT, first, store=store, now=NOW).closed_at == closed.closed_at
    )  # idempotent

    second = write(store, 2, at=NOW + timedelta(minutes=5))
    assert second != first
    assert store.conversations[(ACCOUNT, second)].status.value == "open"


def test_an_agent_taking_over_silences_the_responder() -> None:
    store, sender = InMemoryConversations(), Sender()
    conversation_id = write(store, 1)
    greeting = Automation(ACCOUNT, "aut_1", AutomationKind.GREETING, "Welcome!", "t")

    class Automations:
        def list_for_account(self, account_id: str) -> list[Automation]:
            return [greeting]

    updated = set_auto_reply(ACCOUNT, conversation_id, False, store=store)
    assert updated.auto_reply is False
    job = ReplyJob(ACCOUNT, conversation_id, Channel.WHATSAPP, "wamid.in-1")
    ports = {"automations": Automations(), "responders": FixedResponder(), "model": ScriptedModel()}
    outcome = answer(job, store=store, sender=sender, now=NOW, last_attempt=False, **ports)
    assert outcome.outcome == "auto_reply_off" and sender.sent == []
    set_auto_reply(ACCOUNT, conversation_id, True, store=store)
    outcome = answer(job, store=store, sender=sender, now=NOW, last_attempt=False, **ports)
    assert outcome.outcome == "replied"


def test_a_lead_who_blocked_the_channel_is_marked_until_they_write_again() -> None:
    store, queue = InMemoryConversations(), Queue()
    conversation_id = write(store, 1)

    class Blocked:
        def send_text(self, conversation, text, reply_to, idempotency_key) -> str:
            raise SendRejected(
                "Telegram: Forbidden: bot was blocked by the user", permanent=True, unreachable=True
            )

    queue_manual_message(
        ACCOUNT, conversation_id, "Still there?", store=store, queue=queue, actor="k", now=NOW
    )
    job = job_from_message(queue.jobs[0][0])
    assert send_queued(job, store=store, sender=Blocked(), now=NOW, last_attempt=False).outcome == "failed"

    marked = store.conversations[(ACCOUNT, conversation_id)]
    assert marked.to_public()["unreachableAt"] == "2026-11-23T12:00:00.000Z"
    assert "blocked" in (marked.unreachable_reason or "")
    with pytest.raises(Conflict, match="cannot be written to"):
        queue_manual_message(ACCOUNT, conversation_id, "Hello?", store=store, queue=queue, actor="k", now=NOW)
    assert len(queue.jobs) == 1

    write(store, 2, at=NOW + timedelta(minutes=5))  # they write again: reachable
    assert store.conversations[(ACCOUNT, conversation_id)].unreachable_at is None
    queue_manual_message(
        ACCOUNT, conversation_id, "Welcome back", store=store, queue=queue, actor="k", now=NOW
    )
    assert len(queue.jobs) == 2


def test_a_manual_message_whose_attempts_ran_out_is_sent_when_its_job_is_redriven() -> None:
    store, queue = InMemoryConversations(), Queue()
    conversation_id = write(store, 1)

    class Down:
        def send_text(self, conversation, text, reply_to, idempotency_key) -> str:
            raise SendRejected("Telegram: Too Many Requests", permanent=False)

    message = queue_manual_message(
        ACCOUNT, conversation_id, "Are you there?", store=store, queue=queue, actor="k", now=NOW
    )
    job = job_from_message(queue.jobs[0][0])
    assert send_queued(job, store=store, sender=Down(), now=NOW, last_attempt=True).outcome == "exhausted"
    assert store.messages[(ACCOUNT, message.message_id)].status == "failed"

    sender = Sender()
    assert send_queued(job, store=store, sender=sender, now=NOW, last_attempt=False).outcome == "sent"
    assert sender.sent == [("Are you there?", "wamid.in-1")]
    assert store.messages[(ACCOUNT, message.message_id)].status == "sent"


def test_a_manual_message_that_could_not_be_queued_is_failed_not_left_queued() -> None:
    store = InMemoryConversations()
    conversation_id = write(store, 1)

    class Down:
        def send(self, body, *, group_id=None, dedupe_id=None) -> None:
            raise StorageUnavailable("Storage is unavailable (queue job); please retry")

    with pytest.raises(StorageUnavailable):
        queue_manual_message(
            ACCOUNT, conversation_id, "Hello?", store=store, queue=Down(), actor="k", now=NOW
        )
    [message] = [m for m in store.messages.values() if m.direction.value == "outbound"]
    assert (message.status, message.errors[0]["reason"]) == (
        "failed",
        "not sent: it could not be queued; send it again",
    )


def test_an_agents_changes_are_audited_with_where_they_came_from_but_not_what_was_written() -> None:
    store, queue = InMemoryConversations(), Queue()
    conversation_id = write(store, 1)
    lead_id = store.conversations[(ACCOUNT, conversation_id)].lead_id
    agent = Principal(ACCOUNT, "key_agent", frozenset({"conversations:manage"}), source="dashboard")
    audit_before = len(store.lead_store.audit)

    message = queue_manual_message(
        ACCOUNT, conversation_id, "Call me", store=store, queue=queue, actor="key_agent", now=NOW, by=agent
    )
    set_auto_reply(ACCOUNT, conversation_id, False, store=store, by=agent, now=NOW)
    close_conversation(ACCOUNT, conversation_id, store=store, now=NOW, by=agent)
    close_conversation(ACCOUNT, conversation_id, store=store, now=NOW, by=agent)  # closed already: no entry

    entries = store.lead_store.audit[audit_before:]
    assert [e.action for e in entries] == [
        "conversation.message_queued",
        "conversation.auto_reply_off",
        "conversation.closed",
    ]
    assert {(e.source, e.actor, e.target["leadId"], e.target["conversationId"]) for e in entries} == {
        ("dashboard", "key_agent", lead_id, conversation_id)
    }
    assert entries[0].target["messageId"] == message.message_id and "Call me" not in str(entries)
