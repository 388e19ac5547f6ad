"""What one stored change (a record of the table's stream) sets off: the conversations' jobs it asks for
(an inbound email's content to fetch, an inbound message to answer) and the events it is, fanned out to
the subscribed endpoints. The stream record is retried when any of it fails: every part is idempotent."""

from __future__ import annotations

from dataclasses import dataclass

from leadhub.conversations.jobs import content_job_for, reply_job_for
from leadhub.conversations.models import Conversation, Message
from leadhub.conversations.ports import ConversationQueue
from leadhub.leads.models import Lead
from leadhub.outbound.fanout import FanoutResult, fan_out
from leadhub.outbound.models import WebhookEndpoint
from leadhub.outbound.outbox import Fact, conversation_facts, endpoint_facts, lead_facts, message_facts
from leadhub.outbound.ports import DeliveryLog, DeliveryQueue, EndpointRepository, ParentLookup


@dataclass(frozen=True, slots=True)
class StoredChange:
    """One item before and after the change, read as the entity it is (None where it is not that one)."""

    old_lead: Lead | None = None
    new_lead: Lead | None = None
    old_conversation: Conversation | None = None
    new_conversation: Conversation | None = None
    old_message: Message | None = None
    new_message: Message | None = None
    old_endpoint: WebhookEndpoint | None = None
    new_endpoint: WebhookEndpoint | None = None


def handle_change(
    change: StoredChange,
    now_iso: str,
    *,
    email_contents: ConversationQueue,
    conversation_jobs: ConversationQueue,
    endpoints: EndpointRepository,
    parents: ParentLookup,
    log: DeliveryLog,
    queue: DeliveryQueue,
) -> tuple[list[Fact], FanoutResult | None]:
    """The change's facts, and what fanning them out enqueued (None: no facts)."""
    old_message, new_message = change.old_message, change.new_message
    content_job = content_job_for(old_message, new_message)
    if content_job is not None:  # sent again if the record is retried: fetching twice is harmless
        email_contents.send(content_job.to_message())
    reply_job = reply_job_for(old_message, new_message)
    if reply_job is not None and new_message is not None:  # one group per conversation: answered in order
        conversation_jobs.send(
            reply_job.to_message(), group_id=reply_job.conversation_id, dedupe_id=new_message.message_id
        )
    facts = (
        lead_facts(change.old_lead, change.new_lead)
        + conversation_facts(change.old_conversation, change.new_conversation)
        + message_facts(old_message, new_message)
        + endpoint_facts(change.old_endpoint, change.new_endpoint)
    )
    if not facts:
        return facts, None
    result = fan_out(facts, endpoints=endpoints, parents=parents, log=log, queue=queue, now_iso=now_iso)
    return facts, result
