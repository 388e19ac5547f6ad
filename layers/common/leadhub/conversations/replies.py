"""Answering an inbound message: the responder (the account's automations) picks a reply, which is stored
before it is sent through the conversation's channel, once.

The reply's id derives from the inbound message, so a redelivered job never sends it twice; only a crash
between the provider accepting it and our recording it can (Resend gets an idempotency key for that; the
Graph API and Telegram have none). A reply that failed only because its attempts ran out is `retryable`:
its job, moved back from the dead-letter queue, sends it again."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from leadhub.conversations.automation_rules import Automation, AutomationKind, in_try_order
from leadhub.conversations.conversations import apply_held_status
from leadhub.conversations.jobs import ReplyJob, SendJob
from leadhub.conversations.message_limits import MAX_TEXT_CHARS
from leadhub.conversations.model_responder import ModelFailed, bounded, cut_to, max_tokens_for, turns_from
from leadhub.conversations.models import Channel, Conversation, ConversationStatus, Direction, Message
from leadhub.conversations.ports import (
    AutomationStore,
    ChannelSender,
    ConversationStore,
    LanguageModel,
    ResponderStore,
)
from leadhub.conversations.responder_settings import ResponderKind, ResponderSettings
from leadhub.platform.ids import derived_id
from leadhub.platform.timestamps import from_iso, to_iso

QUEUED = "queued"
# In an agent's message: the provider's id of the message it answers (its `replyTo` is our id of it).
REPLY_TO_PROVIDER_ID = "replyToProviderMessageId"
# The outcome of a job whose last attempt met a refusal that might have passed: the message is failed,
# and the job belongs in the dead-letter queue.
EXHAUSTED = "exhausted"
# In a failed message's error: the refusal might pass, so a job redriven from the DLQ sends it again.
RETRYABLE = "retryable"
# The most text one message carries on each channel, whatever an account's settings say (longer text is
# cut, model_responder.cut_to): WhatsApp's text body and Telegram's sendMessage take 4,096 characters and
# refuse more for good; an email, as much as a stored message keeps.
# What each channel carries in one message (the web widget shows what we store).
CHANNEL_TEXT_LIMITS = {
    Channel.WHATSAPP: 4096,
    Channel.TELEGRAM: 4096,
    Channel.EMAIL: MAX_TEXT_CHARS,
    Channel.WEB: MAX_TEXT_CHARS,
}


class SendRejected(Exception):
    """The provider refused the message. `permanent`: retrying cannot help (e.g. WhatsApp's 24-hour
    window closed, a bot blocked by the user); otherwise retry, after `retry_after` seconds if given.
    `unreachable`: nothing can reach the lead on this conversation until they write again."""

    def __init__(
        self, reason: str, *, permanent: bool, retry_after: float | None = None, unreachable: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent or unreachable
        self.retry_after = retry_after
        self.unreachable = unreachable


@dataclass(frozen=True, slots=True)
class ReplyOutcome:
    # replied | sent | already_replied | no_reply | auto_reply_off | model_failed | skipped | failed |
    # exhausted
    outcome: str
    automation_id: str | None = None


def queued_message(
    conversation: Conversation,
    message_id: str,
    kind: str,
    text: str,
    content: dict[str, Any],
    now: datetime,
) -> Message:
    """One of our messages, stored before it is sent. `kind` (automation, manual) is also its type: how
    it came to be, which is what subscribers of `message.sent` tell apart. The text is stored as it will be
    sent: within the channel's limit."""
    at = to_iso(now)
    return Message(
        account_id=conversation.account_id,
        conversation_id=conversation.conversation_id,
        message_id=message_id,
        lead_id=conversation.lead_id,
        channel=conversation.channel,
        direction=Direction.OUTBOUND,
        type=kind,
        sent_at=at,
        received_at=at,
        status=QUEUED,
        provider_message_id="",
        text=cut_to(text, CHANNEL_TEXT_LIMITS[conversation.channel]),
        content={"kind": kind, **content},
    )


# How far back a conversation is searched for the out-of-hours message it already got.
OUT_OF_HOURS_LOOKBACK_MESSAGES = 20


def choose_automation(
    automations: Sequence[Automation],
    inbound: Message,
    conversation: Conversation,
    history: Callable[[], Sequence[Message]],
) -> Automation | None:
    """Keywords and patterns first (in the account's order), then the out-of-hours message (once per closed
    period: `history`, the conversation's recent messages, says whether it went out already), then the
    greeting for a first message."""
    first_message = inbound.received_at == conversation.created_at
    at = from_iso(inbound.received_at)
    matching = in_try_order(a for a in automations if a.matches(inbound.text, first_message, at))
    for automation in matching:
        if automation.kind is AutomationKind.OUT_OF_HOURS and _told_already(automation, at, history()):
            continue
        return automation
    return None


def _told_already(automation: Automation, at: datetime, history: Sequence[Message]) -> bool:
    since = automation.hours.closed_since(at) if automation.hours else None
    return any(
        m.direction is Direction.OUTBOUND
        and m.content.get("automationId") == automation.automation_id
        and (since is None or from_iso(m.received_at) >= since)
        for m in history
    )


def answer(
    job: ReplyJob,
    *,
    store: ConversationStore,
    automations: AutomationStore,
    responders: ResponderStore,
    model: LanguageModel,
    sender: ChannelSender,
    now: datetime,
    last_attempt: bool,
) -> ReplyOutcome:
    """Raises SendRejected for a transient refusal (the queue retries); on the last attempt, or when the
    refusal is permanent, the reply is marked failed with the reason instead."""
    inbound = store.find_message(job.account_id, job.channel, job.provider_message_id)
    if inbound is None or inbound.direction is not Direction.INBOUND:
        return ReplyOutcome("skipped")
    conversation = store.get_conversation(job.account_id, inbound.conversation_id)
    if conversation is None or conversation.status is not ConversationStatus.OPEN:
        return ReplyOutcome("skipped")
    existing = store.existing_reply(inbound)
    if existing is not None:  # a redelivered job: never choose (or pay a model for) a second reply
        existing = _requeued_if_retryable(existing, store)
        if existing.status != QUEUED:
            return ReplyOutcome("already_replied", existing.content.get("automationId"))
        outcome = _deliver(
            existing, conversation, inbound, store=store, sender=sender, now=now, last_attempt=last_attempt
        )
        return ReplyOutcome(outcome, existing.content.get("automationId"))
    settings = responders.get(job.account_id)
    if not (settings.auto_reply and conversation.auto_reply):
        return ReplyOutcome("auto_reply_off")
    reply_id = derived_id("msg", job.account_id, "reply", inbound.message_id)
    if settings.kind is ResponderKind.BEDROCK:
        reply = _model_reply(settings, conversation, inbound, reply_id, store=store, model=model, now=now)
    else:
        automation = choose_automation(
            automations.list_for_account(job.account_id),
            inbound,
            conversation,
            lambda: store.recent_messages(
                job.account_id, conversation.conversation_id, OUT_OF_HOURS_LOOKBACK_MESSAGES
            ),
        )
        if automation is None:
            return ReplyOutcome("no_reply")
        content = {"automationId": automation.automation_id, "replyTo": inbound.message_id}
        reply = queued_message(conversation, reply_id, "automation", automation.reply, content, now)
    raced = store.create_reply(reply, inbound)
    if raced is not None:  # another delivery of the job stored its reply first
        return ReplyOutcome("already_replied", raced.content.get("automationId"))
    if reply.status != QUEUED:  # the model failed and there is no fallback: recorded, nothing to send
        return ReplyOutcome("model_failed")
    outcome = _deliver(
        reply, conversation, inbound, store=store, sender=sender, now=now, last_attempt=last_attempt
    )
    return ReplyOutcome(outcome, reply.content.get("automationId"))


def _model_reply(
    settings: ResponderSettings,
    conversation: Conversation,
    inbound: Message,
    reply_id: str,
    *,
    store: ConversationStore,
    model: LanguageModel,
    now: datetime,
) -> Message:
    """The model's reply; on a model failure the fallback reply, or a failed reply recording the error."""
    content: dict[str, Any] = {"modelId": settings.model_id, "replyTo": inbound.message_id}
    history = store.recent_messages(
        conversation.account_id, conversation.conversation_id, settings.history_messages
    )
    try:
        text = model.reply(
            settings.model_id or "",
            settings.system_prompt,
            turns_from(history),
            max_tokens_for(settings.max_reply_chars),
        )
        limit = min(settings.max_reply_chars, CHANNEL_TEXT_LIMITS[conversation.channel])
        return queued_message(conversation, reply_id, "ai", bounded(text, limit), content, now)
    except ModelFailed as failure:
        content["responderError"] = str(failure)
        if settings.fallback_reply:
            return queued_message(conversation, reply_id, "ai", settings.fallback_reply, content, now)
        failed = queued_message(conversation, reply_id, "ai", "", content, now)
        return replace(
            failed, text=None, status="failed", status_at=to_iso(now), errors=({"reason": str(failure)},)
        )


def send_queued(
    job: SendJob, *, store: ConversationStore, sender: ChannelSender, now: datetime, last_attempt: bool
) -> ReplyOutcome:
    """Send a message stored as queued (an agent's); anything else was sent already."""
    message = store.get_message(job.account_id, job.conversation_id, job.message_key)
    if message is not None:
        message = _requeued_if_retryable(message, store)
    if message is None or message.status != QUEUED:
        return ReplyOutcome("skipped")
    conversation = store.get_conversation(job.account_id, job.conversation_id)
    if conversation is None:
        return ReplyOutcome("skipped")
    answered = _answered(message, store)  # for quoting and threading
    outcome = _deliver(
        message, conversation, answered, store=store, sender=sender, now=now, last_attempt=last_attempt
    )
    return ReplyOutcome(outcome)


def _answered(message: Message, store: ConversationStore) -> Message | None:
    """The message `message` answers, as recorded when it was queued; for one queued before messages
    recorded it, the conversation's latest inbound message."""
    provider_id = message.content.get(REPLY_TO_PROVIDER_ID)
    if isinstance(provider_id, str):
        return store.find_message(message.account_id, message.channel, provider_id)
    return store.latest_inbound(message.account_id, message.conversation_id)


def _requeued_if_retryable(message: Message, store: ConversationStore) -> Message:
    """A message failed only by running out of attempts is queued again (its job was redriven from the
    DLQ); anything else as it is. Queuing again is not announced: the send's outcome will be."""
    if message.status != "failed" or not any(error.get(RETRYABLE) for error in message.errors):
        return message
    queued = replace(message, status=QUEUED, status_at=None, errors=())
    # Lost to a concurrent delivery of the same job: that one sends it.
    return queued if store.replace_message(queued, previous=message) else message


def _deliver(
    message: Message,
    conversation: Conversation,
    reply_to: Message | None,
    *,
    store: ConversationStore,
    sender: ChannelSender,
    now: datetime,
    last_attempt: bool,
) -> str:
    try:
        provider_id = sender.send_text(
            conversation, message.text or "", reply_to, idempotency_key=message.message_id
        )
    except SendRejected as rejected:
        if not (rejected.permanent or last_attempt):
            raise
        error: dict[str, Any] = {"reason": rejected.reason}
        if not rejected.permanent:
            error[RETRYABLE] = True
        failed = replace(message, status="failed", status_at=to_iso(now), errors=(error,))
        store.replace_message(failed, previous=message)
        if rejected.unreachable:
            store.mark_unreachable(conversation, rejected.reason, to_iso(now))
        return "failed" if rejected.permanent else EXHAUSTED
    sent = replace(message, status="sent", status_at=to_iso(now), provider_message_id=provider_id)
    store.mark_sent(sent, previous=message)
    apply_held_status(sent, store=store)  # what the provider reported before its answer reached us
    return "replied" if message.content.get("kind") in ("automation", "ai") else "sent"
