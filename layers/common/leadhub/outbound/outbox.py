"""The outbox: subscriber facts derived from how a stored lead changed (old and new stream images).

Business writes never enqueue events themselves; the table's stream carries every change, and these
functions say which facts a change means. That way no event is lost between "stored" and "queued".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from leadhub.conversations.models import RECEIVED, Conversation, Direction, Message
from leadhub.leads.models import Lead
from leadhub.outbound.models import DISABLED_THROUGH_API, WebhookEndpoint
from leadhub.platform.timestamps import from_iso

LEAD_CREATED = "lead.created"
LEAD_UPDATED = "lead.updated"
LEAD_RE_ENGAGED = "lead.re_engaged"
CONVERSATION_CREATED = "conversation.created"
CONVERSATION_CLOSED = "conversation.closed"
MESSAGE_RECEIVED = "message.received"
MESSAGE_STATUS = "message.status"
MESSAGE_SENT = "message.sent"
AUTOMATION_TRIGGERED = "automation.triggered"

_TRACKED_FIELDS = {
    "phone": "phone",
    "name": "name",
    "email": "email",
    "tags": "tags",
    "custom_fields": "customFields",
}


@dataclass(frozen=True, slots=True)
class Fact:
    event: str
    account_id: str
    occurred_at: str
    subject_id: str  # what the fact is about (a lead id, …); with `event` and `occurred_at` it names the fact
    data: dict[str, Any] = field(default_factory=dict)


def lead_facts(old: Lead | None, new: Lead | None) -> list[Fact]:
    if new is None:
        return []
    if old is None:
        return [Fact(LEAD_CREATED, new.account_id, new.captured_at, new.lead_id, new.to_public())]
    facts = []
    changed = [public for attr, public in _TRACKED_FIELDS.items() if _value(old, attr) != _value(new, attr)]
    if changed:
        data = {**new.to_public(), "changedFields": changed}
        facts.append(Fact(LEAD_UPDATED, new.account_id, new.updated_at, new.lead_id, data))
    if new.re_engaged_at and new.re_engaged_at != old.re_engaged_at and new.previous_activity_at:
        silent = from_iso(new.re_engaged_at) - from_iso(new.previous_activity_at)
        data = {
            **new.to_public(),
            "previousActivityAt": new.previous_activity_at,
            "inactiveDays": silent.days,
            # Before this message (the new image already counts it); None: the lead never wrote.
            "lastConversationAt": old.last_conversation_at,
        }
        facts.append(Fact(LEAD_RE_ENGAGED, new.account_id, new.re_engaged_at, new.lead_id, data))
    return facts


def _value(lead: Lead, attr: str) -> object:
    value = getattr(lead, attr)
    return dict(value) if attr == "custom_fields" else value


ENDPOINT_DISABLED = "endpoint.disabled"


def endpoint_facts(old: WebhookEndpoint | None, new: WebhookEndpoint | None) -> list[Fact]:
    """An endpoint that Leadhub disabled (410 Gone, or failing for too long) is announced to the
    account's other endpoints; one an operator disables through the API is not."""
    if old is None or new is None or not old.enabled or new.enabled:
        return []
    if new.disabled_reason in (None, DISABLED_THROUGH_API):
        return []
    data = {
        "endpointId": new.endpoint_id,
        "name": new.name,
        "url": new.url,
        "reason": new.disabled_reason,
        "disabledAt": new.updated_at,
    }
    return [Fact(ENDPOINT_DISABLED, new.account_id, new.updated_at, new.endpoint_id, data)]


def conversation_facts(old: Conversation | None, new: Conversation | None) -> list[Fact]:
    if new is None:
        return []
    if old is None:
        return [
            Fact(CONVERSATION_CREATED, new.account_id, new.created_at, new.conversation_id, new.to_public())
        ]
    if old.status != new.status and new.closed_at:
        return [
            Fact(CONVERSATION_CLOSED, new.account_id, new.closed_at, new.conversation_id, new.to_public())
        ]
    return []


def message_facts(old: Message | None, new: Message | None) -> list[Fact]:
    """An inbound message stored with its content is `message.received` (an email once its content has
    been fetched). Our message accepted by the provider is `message.sent` (and `automation.triggered`
    when an automation wrote it); any later move (delivered, read, failed) is `message.status`. Edits
    are not announced."""
    if new is None:
        return []
    if new.direction is Direction.INBOUND:
        if new.status == RECEIVED and (old is None or old.status != RECEIVED):
            return [Fact(MESSAGE_RECEIVED, new.account_id, new.received_at, new.message_id, new.to_public())]
        return []
    if old is None or new.status == old.status or not new.status_at:
        return []
    if old.status == "queued" and new.status == "sent":  # the provider accepted our message
        facts = [Fact(MESSAGE_SENT, new.account_id, new.status_at, new.message_id, new.to_public())]
        automation_id = new.content.get("automationId")
        if automation_id:
            data = {
                "automationId": automation_id,
                "conversationId": new.conversation_id,
                "leadId": new.lead_id,
                "channel": new.channel.value,
                "messageId": new.message_id,
                "inReplyTo": new.content.get("replyTo"),
            }
            facts.append(Fact(AUTOMATION_TRIGGERED, new.account_id, new.status_at, new.message_id, data))
        return facts
    data = {**new.to_public(), "previousStatus": old.status}
    return [Fact(MESSAGE_STATUS, new.account_id, new.status_at, new.message_id, data)]
