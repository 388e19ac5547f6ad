"""The web channel (widget) in the single table.

- widget: ACCOUNT#{accountId} / WIDGET, and its key's lookup copy WIDGETKEY#{sha256(key)} / WIDGETKEY that
  every public call reads in one GetItem (both change in one transaction; a rotation deletes the old copy).
- visitor: ACCOUNT#{accountId}#VISITOR#{visitorId} / VISITOR: open conversation, lead, messages sent.
- rate counters: RATE#{accountId}#{what}#{window} / RATE, one fixed window each, expiring by TTL.
A visitor's conversations and messages are the conversation store's items (deduplicated by the widget's
client message id)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from leadhub.accounts.adapters.dynamodb_audit import audit_put
from leadhub.accounts.audit import AuditEntry
from leadhub.channels.web.ports import RateLimit, VisitorMessageWrite
from leadhub.channels.web.visitor import Visitor
from leadhub.channels.web.widget import Widget, WidgetSettings
from leadhub.conversations.adapters.dynamodb_conversation_items import (
    conversation_key,
    conversation_to_values,
    message_to_values,
    values_to_message,
)
from leadhub.conversations.adapters.dynamodb_conversation_writes import (
    cancellation_outcome,
    index_put,
    lead_put,
    put_new,
)
from leadhub.conversations.adapters.dynamodb_conversations import DynamoConversationStore
from leadhub.conversations.models import ConversationStatus, Message, message_preview
from leadhub.conversations.ports import CommitOutcome
from leadhub.platform.adapters.aws_clients import storage_errors
from leadhub.platform.adapters.dynamodb_items import account_pk, from_item, key_values, to_item
from leadhub.platform.adapters.dynamodb_queries import TableAdapter, commit, get_values
from leadhub.platform.ids import token_hash
from leadhub.platform.ttl_cache import TtlCache

_MESSAGES = "MSG#"


def _widget_key(account_id: str) -> dict[str, Any]:
    return {"pk": {"S": account_pk(account_id)}, "sk": {"S": "WIDGET"}}


def _lookup_key(key_hash: str) -> dict[str, Any]:
    return {"pk": {"S": f"WIDGETKEY#{key_hash}"}, "sk": {"S": "WIDGETKEY"}}


def _widget_values(widget: Widget) -> dict[str, Any]:
    return {
        "entity": "widget",
        "accountId": widget.account_id,
        "widgetKey": widget.widget_key,
        "settings": widget.settings.to_public(),
        "defaultRegion": widget.default_region,
        "updatedAt": widget.updated_at,
        "version": widget.version,
    }


def _to_widget(values: dict[str, Any]) -> Widget:
    return Widget(
        account_id=values["accountId"],
        widget_key=values["widgetKey"],
        settings=WidgetSettings.from_public(values.get("settings") or {}),
        default_region=values["defaultRegion"],
        updated_at=values["updatedAt"],
        version=int(values.get("version", 1)),
    )


class DynamoWidgets(TableAdapter):
    def get(self, account_id: str) -> Widget | None:
        values = get_values(self._db, self._table, _widget_key(account_id), "read widget")
        return _to_widget(values) if values else None

    def save(self, widget: Widget, previous: Widget | None, audit: AuditEntry) -> bool:
        values = _widget_values(widget)
        guard: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        if previous is not None:
            guard = {
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": {":expected": {"N": str(previous.version)}},
            }
        lookup = {**key_values(_lookup_key(token_hash(widget.widget_key))), **values, "entity": "widget_key"}
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item({**key_values(_widget_key(widget.account_id)), **values}),
                    **guard,
                }
            },
            {"Put": {"TableName": self._table, "Item": to_item(lookup)}},
            audit_put(self._table, audit),
        ]
        if previous is not None and previous.widget_key != widget.widget_key:
            old = _lookup_key(token_hash(previous.widget_key))
            items.append({"Delete": {"TableName": self._table, "Key": old}})
        return commit(self._db, items, "save widget")

    def find_by_key_hash(self, key_hash: str) -> Widget | None:
        values = get_values(self._db, self._table, _lookup_key(key_hash), "find widget")
        return _to_widget(values) if values else None


class CachedWidgetLookup:
    """Warm environments reuse key lookups (hits and misses) for `ttl_seconds`: a settings change, a
    rotated key or a widget turned off takes effect within it."""

    def __init__(self, inner: DynamoWidgets, ttl_seconds: float) -> None:
        self._inner = inner
        self._cache: TtlCache[str, Widget | None] = TtlCache(ttl_seconds)

    def find_by_key_hash(self, key_hash: str) -> Widget | None:
        return self._cache.get_or_load(key_hash, self._inner.find_by_key_hash)


def _visitor_key(account_id: str, visitor_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"{account_pk(account_id)}#VISITOR#{visitor_id}"}, "sk": {"S": "VISITOR"}}


def _visitor_values(visitor: Visitor) -> dict[str, Any]:
    return {
        **key_values(_visitor_key(visitor.account_id, visitor.visitor_id)),
        "entity": "visitor",
        "accountId": visitor.account_id,
        "visitorId": visitor.visitor_id,
        "createdAt": visitor.created_at,
        "conversationId": visitor.conversation_id,
        "leadId": visitor.lead_id,
        "capturedAt": visitor.captured_at,
        "messagesSent": visitor.messages_sent,
        "version": visitor.version,
    }


def _to_visitor(values: dict[str, Any]) -> Visitor:
    return Visitor(
        account_id=values["accountId"],
        visitor_id=values["visitorId"],
        created_at=values["createdAt"],
        conversation_id=values.get("conversationId"),
        lead_id=values.get("leadId"),
        captured_at=values.get("capturedAt"),
        messages_sent=int(values.get("messagesSent", 0)),
        version=int(values.get("version", 1)),
    )


class DynamoVisitorStore(DynamoConversationStore):
    """Visitors, and their messages in the conversation store's items."""

    def get_visitor(self, account_id: str, visitor_id: str) -> Visitor | None:
        values = get_values(self._db, self._table, _visitor_key(account_id, visitor_id), "read visitor")
        return _to_visitor(values) if values else None

    def commit_visitor_message(self, write: VisitorMessageWrite) -> CommitOutcome:
        """The message's index entry (its dedupe), the visitor, their lead (once captured), the
        conversation and the message: the order `cancellation_outcome` reads a cancellation in, as for
        any inbound message."""
        message = write.message
        items = [index_put(self._table, message), self._visitor_put(write.visitor, write.expected_version)]
        if write.lead is not None:
            items.append(lead_put(self._table, write.lead, write.lead_expected_version))
        conversation_at = len(items)
        items += [self._conversation_touch(write), put_new(self._table, message_to_values(message))]
        try:
            with storage_errors("store message", expected=frozenset({"TransactionCanceledException"})):
                self._db.transact_write_items(TransactItems=items)
        except ClientError as exc:
            return cancellation_outcome(exc, deduplicating=1, conversation_at=conversation_at)
        return CommitOutcome.STORED

    def attach_lead(self, visitor: Visitor, expected_version: int | None) -> bool:
        items = [self._visitor_put(visitor, expected_version)]
        if visitor.conversation_id is not None and visitor.lead_id is not None:
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": conversation_key(visitor.account_id, visitor.conversation_id),
                        "UpdateExpression": "SET leadId = :lead",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": {":lead": {"S": visitor.lead_id}},
                    }
                }
            )
        return commit(self._db, items, "attach visitor")

    def messages_after(
        self, account_id: str, conversation_id: str, position: str | None, limit: int
    ) -> list[tuple[str, Message]]:
        pk = conversation_key(account_id, conversation_id)["pk"]
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :messages)",
            "ExpressionAttributeValues": {":pk": pk, ":messages": {"S": _MESSAGES}},
            "ScanIndexForward": True,
            "Limit": limit,
            "ConsistentRead": True,
        }
        if position is not None and position.startswith(_MESSAGES):  # anything else: from the start
            request["ExclusiveStartKey"] = {"pk": pk, "sk": {"S": position}}
        with storage_errors("read messages"):
            items = self._db.query(**request)["Items"]
        return [(item["sk"]["S"], values_to_message(from_item(item))) for item in items]

    def _visitor_put(self, visitor: Visitor, expected_version: int | None) -> dict[str, Any]:
        if expected_version is None:
            return put_new(self._table, _visitor_values(visitor))
        return {
            "Put": {
                "TableName": self._table,
                "Item": to_item(_visitor_values(visitor)),
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
            }
        }

    def _conversation_touch(self, write: VisitorMessageWrite) -> dict[str, Any]:
        if write.new_conversation is not None:
            first = replace(write.new_conversation, last_message=message_preview(write.message))
            return put_new(self._table, conversation_to_values(first))
        update = self._one_more_message(write.message, write.at)
        update["ConditionExpression"] += " AND #status = :open"
        update["ExpressionAttributeNames"] = {"#status": "status"}
        update["ExpressionAttributeValues"][":open"] = {"S": ConversationStatus.OPEN.value}
        return {"Update": update}


class DynamoRateLimiter(TableAdapter):
    """Fixed windows, one counter item per limit and window, incremented without a condition (an
    UpdateItem never conflicts with a concurrent one): a refused request counts too, which keeps a
    client that ignores Retry-After refused until the window ends."""

    def take(self, account_id: str, limits: Sequence[RateLimit], now: datetime) -> float | None:
        moment = now.timestamp()
        for limit in limits:
            window = int(moment // limit.window_seconds)
            with storage_errors("count requests"):
                counted = self._db.update_item(
                    TableName=self._table,
                    Key={"pk": {"S": f"RATE#{account_id}#{limit.key}#{window}"}, "sk": {"S": "RATE"}},
                    UpdateExpression="SET entity = :entity, expiresAt = :expires ADD hits :one",
                    ExpressionAttributeValues={
                        ":entity": {"S": "rate"},
                        ":expires": {"N": str((window + 2) * limit.window_seconds)},
                        ":one": {"N": "1"},
                    },
                    ReturnValues="UPDATED_NEW",
                )
            if int(counted["Attributes"]["hits"]["N"]) > limit.limit:
                return limit.window_seconds - moment % limit.window_seconds
        return None
