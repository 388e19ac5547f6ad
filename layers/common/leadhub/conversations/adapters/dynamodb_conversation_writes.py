"""The elements of the conversation store's transactions (puts of new items, the lead, markers, index
entries, routes) and what a cancelled transaction means; the widget's store writes the same ones."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from leadhub.conversations.adapters.dynamodb_conversation_items import (
    identity_key,
    pointer_values,
    provider_index_key,
)
from leadhub.conversations.adapters.dynamodb_routes import route_key
from leadhub.conversations.models import Channel, Conversation, Message, email_reply_route_key
from leadhub.conversations.ports import CommitOutcome
from leadhub.leads.adapters.dynamodb_leads import lead_to_values
from leadhub.leads.models import Lead
from leadhub.platform.adapters.aws_clients import storage_failure
from leadhub.platform.adapters.dynamodb_items import key_values, to_item
from leadhub.platform.timestamps import from_iso

DEDUPE_MARKER_LIFETIME = timedelta(days=30)  # longer than any provider keeps retrying a delivery


def put_new(table: str, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": table,
            "Item": to_item(values),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def marker_put(table: str, message: Message, key: str, at: str) -> dict[str, Any]:
    expires = from_iso(at) + DEDUPE_MARKER_LIFETIME
    values = {
        "pk": f"INBOUND#{message.account_id}#{message.channel.value}#{key}",
        "sk": "INBOUND",
        "entity": "dedupe",
        "expiresAt": int(expires.timestamp()),
    }
    return put_new(table, values)


def index_values(message: Message) -> dict[str, Any]:
    key = provider_index_key(message.account_id, message.channel, message.provider_message_id)
    return pointer_values(key, "provider_message", message)


def index_put(table: str, message: Message) -> dict[str, Any]:
    return put_new(table, index_values(message))


def reply_route_put(table: str, conversation: Conversation) -> dict[str, Any]:
    """Replies to reply+{conversationId}@… find their account through this route."""
    key = route_key(Channel.EMAIL, email_reply_route_key(conversation.conversation_id))
    values = {
        **key_values(key),
        "entity": "route",
        "accountId": conversation.account_id,
        "details": {"conversationId": conversation.conversation_id},
    }
    return put_new(table, values)


def identity_put(table: str, lead: Lead, channel: Channel, key: str) -> dict[str, Any]:
    values = {
        **key_values(identity_key(lead.account_id, channel, key)),
        "entity": "lead_identity",
        "accountId": lead.account_id,
        "leadId": lead.lead_id,
    }
    return put_new(table, values)


def lead_put(table: str, lead: Lead, expected_version: int | None) -> dict[str, Any]:
    if expected_version is None:
        return put_new(table, lead_to_values(lead))
    return {
        "Put": {
            "TableName": table,
            "Item": to_item(lead_to_values(lead)),
            "ConditionExpression": "version = :expected",
            "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
        }
    }


def cancellation_outcome(exc: ClientError, deduplicating: int, conversation_at: int) -> CommitOutcome:
    """Which condition cancelled the commit: items [0, deduplicating) are the markers and the index, then
    the lead, a lead identity, the conversation, the message (a duplicate too), the audit entry and a
    reply route."""
    reasons = exc.response.get("CancellationReasons") or []
    codes = [r.get("Code") for r in reasons]
    if "ConditionalCheckFailed" in codes:
        failed = codes.index("ConditionalCheckFailed")
        if failed < deduplicating or failed > conversation_at:  # a marker, the index or the message
            return CommitOutcome.DUPLICATE
        if failed == conversation_at:
            return CommitOutcome.CONVERSATION_GONE
        return CommitOutcome.LEAD_CHANGED
    if "TransactionConflict" in codes:
        return CommitOutcome.LEAD_CHANGED  # a concurrent write to the same items: read and try again
    raise storage_failure(exc, "store message") from exc
