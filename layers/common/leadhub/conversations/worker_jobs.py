"""The conversation worker's jobs (SQS FIFO, one message group per conversation): a reply to answer or a
stored message to send, attempted once per receive. A refusal that may pass brings the message back after
the retry schedule's next delay (or a longer Retry-After), holding back its conversation; the last
attempt's refusal fails the message (replies.EXHAUSTED) and we move the job to the dead-letter queue
ourselves, so that the conversation's next messages need not wait. Records skipped behind a failed one are
made visible at once (`release_skipped`): the group resumes, in order, once its head's delay is over."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadhub.conversations.jobs import ReplyJob, job_from_message
from leadhub.conversations.ports import (
    AutomationStore,
    ChannelSender,
    ConversationQueue,
    ConversationStore,
    LanguageModel,
    ResponderStore,
)
from leadhub.conversations.replies import EXHAUSTED, ReplyOutcome, SendRejected, answer, send_queued
from leadhub.platform.retry_schedule import next_delay


@dataclass(frozen=True, slots=True)
class QueuedJob:
    """One received message of the conversation queue."""

    body: dict[str, Any]
    message_id: str
    group_id: str | None
    receipt_handle: str
    receive_count: int


def run_job(
    job: QueuedJob,
    now: datetime,
    *,
    store: ConversationStore,
    automations: AutomationStore,
    responders: ResponderStore,
    model: LanguageModel,
    sender: ChannelSender,
    queue: ConversationQueue,
    dead_letters: ConversationQueue,
    retry_schedule: Sequence[float],
) -> ReplyOutcome:
    """Raises SendRejected when the job is to be tried again (its message delayed already)."""
    work = job_from_message(job.body)
    last_attempt = job.receive_count >= len(retry_schedule)
    try:
        if isinstance(work, ReplyJob):
            outcome = answer(
                work,
                store=store,
                automations=automations,
                responders=responders,
                model=model,
                sender=sender,
                now=now,
                last_attempt=last_attempt,
            )
        else:  # an agent's message
            outcome = send_queued(work, store=store, sender=sender, now=now, last_attempt=last_attempt)
    except SendRejected as rejected:
        asked = None if rejected.retry_after is None else str(math.ceil(rejected.retry_after))
        delay = next_delay(retry_schedule, job.receive_count, retry_after=asked) or 0
        queue.delay(job.receipt_handle, math.ceil(delay))
        raise
    if outcome.outcome == EXHAUSTED:
        dead_letters.send(job.body, group_id=job.group_id, dedupe_id=job.message_id)
    return outcome


def release_skipped(
    records: Sequence[Mapping[str, Any]], failed: Collection[str], *, queue: ConversationQueue
) -> None:
    """Make the records (SQS records of one batch) skipped behind a failed one in their group visible
    again now, instead of after the queue's visibility timeout. `failed`: the message ids reported as
    batch item failures (the failed heads and the records skipped behind them)."""
    failed_groups: set[str | None] = set()
    for record in records:
        if record["messageId"] not in failed:
            continue
        group = record["attributes"].get("MessageGroupId")
        if group in failed_groups:  # behind its group's first failure: skipped, never tried
            queue.delay(record["receiptHandle"], 0)
        failed_groups.add(group)
