"""The conversation store in the single table (item layout: dynamodb_conversation_items). Each inbound
message is one transaction: deduplication markers, the lead, the conversation, the message, an audit
entry and, for a new email conversation, its reply route."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from leadhub.accounts.adapters.dynamodb_audit import audit_put
from leadhub.accounts.audit import AuditEntry
from leadhub.conversations.adapters.dynamodb_conversation_items import (
    conversation_key,
    conversation_pk,
    conversation_to_values,
    conversations_index_pk,
    held_status_key,
    identity_key,
    message_sk,
    message_to_values,
    pointer_values,
    provider_index_key,
    reply_marker_key,
    values_to_conversation,
    values_to_message,
)
from leadhub.conversations.adapters.dynamodb_conversation_writes import (
    cancellation_outcome,
    identity_put,
    index_put,
    index_values,
    lead_put,
    marker_put,
    put_new,
    reply_route_put,
)
from leadhub.conversations.models import (
    OUTBOUND_STATUS_RANK,
    Channel,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    StatusUpdate,
    message_preview,
)
from leadhub.conversations.ports import CommitOutcome, InboundWrite
from leadhub.leads.adapters.dynamodb_leads import DynamoLeadRepository, lead_key
from leadhub.leads.models import Lead
from leadhub.platform.adapters.aws_clients import (
    ClientFactory,
    client,
    error_code,
    storage_errors,
)
from leadhub.platform.adapters.dynamodb_items import key_values, to_attribute, to_item
from leadhub.platform.adapters.dynamodb_pages import count_items, query_page
from leadhub.platform.adapters.dynamodb_queries import TableAdapter, commit, get_values
from leadhub.platform.errors import NotFound, StorageUnavailable
from leadhub.platform.paging import BoundedCount, Page
from leadhub.platform.timestamps import from_iso

# A report is held for a send whose answer is on its way (seconds); one on a message sent by some other
# client of the same number is never claimed, and goes.
HELD_STATUS_LIFETIME = timedelta(days=1)

_CONDITION_FAILED = frozenset({"ConditionalCheckFailedException"})


class DynamoConversationStore(TableAdapter):
    def __init__(self, table_name: str, clients: ClientFactory = client) -> None:
        super().__init__(table_name, clients)
        self._leads = DynamoLeadRepository(table_name, clients)

    def get_lead(self, account_id: str, lead_id: str) -> Lead | None:
        return self._leads.get(account_id, lead_id)

    def find_identity(self, account_id: str, channel: Channel, key: str) -> str | None:
        values = get_values(self._db, self._table, identity_key(account_id, channel, key), "find lead")
        return values.get("leadId") if values else None

    def commit_inbound(self, write: InboundWrite) -> CommitOutcome:
        message = write.message
        items: list[dict[str, Any]] = [
            marker_put(self._table, message, key, write.at) for key in write.dedupe_keys
        ]
        items.append(index_put(self._table, message))
        deduplicating = len(items)
        items.append(lead_put(self._table, write.lead, write.lead_expected_version))
        if write.identity is not None:  # claimed meanwhile by another message: read again
            items.append(identity_put(self._table, write.lead, message.channel, write.identity))
        items.append(self._conversation_write(write))
        conversation_at = len(items) - 1
        items.append(put_new(self._table, message_to_values(message)))
        if write.audit is not None:
            items.append(audit_put(self._table, write.audit))
        if write.new_conversation is not None and write.new_conversation.channel is Channel.EMAIL:
            items.append(reply_route_put(self._table, write.new_conversation))
        try:
            with storage_errors("store message", expected=frozenset({"TransactionCanceledException"})):
                self._db.transact_write_items(TransactItems=items)
        except ClientError as exc:
            return cancellation_outcome(exc, deduplicating, conversation_at)
        return CommitOutcome.STORED

    def get_conversation(self, account_id: str, conversation_id: str) -> Conversation | None:
        key = conversation_key(account_id, conversation_id)
        values = get_values(self._db, self._table, key, "read conversation")
        return values_to_conversation(values) if values else None

    def find_message(self, account_id: str, channel: Channel, provider_message_id: str) -> Message | None:
        return self._pointed_message(provider_index_key(account_id, channel, provider_message_id))

    def replace_message(self, message: Message, previous: Message) -> bool:
        condition = "#status = :status AND "
        values: dict[str, Any] = {":status": {"S": previous.status}}
        if previous.edited_at is None:
            condition += "attribute_not_exists(editedAt)"
        else:
            condition += "editedAt = :edited"
            values[":edited"] = {"S": previous.edited_at}
        try:
            with storage_errors("update message", expected=_CONDITION_FAILED):
                self._db.put_item(
                    TableName=self._table,
                    Item=to_item(message_to_values(message)),
                    ConditionExpression=condition,
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues=values,
                )
        except ClientError as exc:
            if error_code(exc) in _CONDITION_FAILED:
                return False
            raise
        return True

    def hold_status(self, update: StatusUpdate) -> None:
        key = held_status_key(update.account_id, update.channel, update.provider_message_id)
        values = {
            **key_values(key),
            "entity": "held_status",
            "status": update.status,
            "statusRank": OUTBOUND_STATUS_RANK[update.status],
            "statusAt": update.at,
            "errors": [dict(e) for e in update.errors] or None,
            "expiresAt": int((from_iso(update.at) + HELD_STATUS_LIFETIME).timestamp()),
        }
        try:
            with storage_errors("hold status", expected=_CONDITION_FAILED):
                self._db.put_item(
                    TableName=self._table,
                    Item=to_item(values),
                    ConditionExpression="attribute_not_exists(pk) OR statusRank < :rank",
                    ExpressionAttributeValues={":rank": {"N": str(values["statusRank"])}},
                )
        except ClientError as exc:
            if error_code(exc) not in _CONDITION_FAILED:  # else one as far along is held already
                raise

    def held_status(self, account_id: str, channel: Channel, provider_message_id: str) -> StatusUpdate | None:
        key = held_status_key(account_id, channel, provider_message_id)
        values = get_values(self._db, self._table, key, "read held status")
        if not values:
            return None
        errors = tuple(values.get("errors", ()))
        return StatusUpdate(
            account_id, channel, provider_message_id, values["status"], values["statusAt"], errors
        )

    def create_reply(self, reply: Message, inbound: Message) -> Message | None:
        """Store `reply` with a marker naming it the answer to `inbound`; the existing reply if the marker
        is there already (a redelivered job)."""
        marker = pointer_values(reply_marker_key(inbound), "reply_marker", reply)
        items = [
            put_new(self._table, marker),
            put_new(self._table, message_to_values(reply)),
            self._counted(reply),
        ]
        if commit(self._db, items, "store reply"):
            return None
        existing = self.existing_reply(inbound)
        if existing is None:
            raise StorageUnavailable("The reply is being written concurrently; please retry")
        return existing

    def existing_reply(self, inbound: Message) -> Message | None:
        return self._pointed_message(reply_marker_key(inbound))

    def recent_messages(self, account_id: str, conversation_id: str, count: int) -> list[Message]:
        return list(reversed(self.latest_messages(account_id, conversation_id, count, None).items))

    def latest_messages(
        self, account_id: str, conversation_id: str, limit: int, cursor: str | None
    ) -> Page[Message]:
        """A conversation's messages, newest first; `next_cursor` leads to earlier ones."""
        return self._messages(account_id, conversation_id, limit, cursor, oldest_first=False)

    def mark_sent(self, sent: Message, previous: Message) -> bool:
        items = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(message_to_values(sent)),
                    "ConditionExpression": "#status = :status",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {":status": {"S": previous.status}},
                }
            },
            {"Put": {"TableName": self._table, "Item": to_item(index_values(sent))}},
        ]
        return commit(self._db, items, "record sent message")

    def get_message(self, account_id: str, conversation_id: str, message_key: str) -> Message | None:
        return self._message_at(conversation_pk(account_id, conversation_id), message_key)

    def latest_inbound(self, account_id: str, conversation_id: str) -> Message | None:
        page = query_page(
            self._db,
            self._table,
            partition=("pk", conversation_pk(account_id, conversation_id)),
            sort_prefix=("sk", "MSG#"),
            limit=1,
            cursor=None,
            filters={"direction": Direction.INBOUND.value},
        )
        return values_to_message(page.items[0]) if page.items else None

    def create_outbound(self, message: Message, audit: AuditEntry | None = None) -> str:
        """Store the message (and its audit entry); its sort key is the reference `get_message` takes."""
        items = [put_new(self._table, message_to_values(message)), self._counted(message)]
        commit(self._db, items + self._audited(audit), "store message")
        return message_sk(message)

    def _audited(self, audit: AuditEntry | None) -> list[dict[str, Any]]:
        return [audit_put(self._table, audit)] if audit is not None else []

    def _counted(self, message: Message) -> dict[str, Any]:
        """Our message counts in its conversation, as an inbound one does, and is its latest activity."""
        update = self._one_more_message(message, message.received_at)
        return {"Update": update}

    def _one_more_message(self, message: Message, at: str) -> dict[str, Any]:
        """The conversation update of `message` stored at `at`: counted, its latest activity and the
        preview of its latest message."""
        return {
            "TableName": self._table,
            "Key": conversation_key(message.account_id, message.conversation_id),
            "UpdateExpression": "SET lastActivityAt = :at, gsi1sk = :order, lastMessage = :last "
            "ADD messageCount :one",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {
                ":at": {"S": at},
                ":order": {"S": f"{at}#{message.conversation_id}"},
                ":last": to_attribute(message_preview(message)),
                ":one": {"N": "1"},
            },
        }

    def close(
        self, conversation: Conversation, lead_holds_it: bool, at: str, audit: AuditEntry | None = None
    ) -> bool:
        """Close the conversation (if still open) and, when the lead points at it, clear the pointer so
        the lead's next message opens a new conversation."""
        key = conversation_key(conversation.account_id, conversation.conversation_id)
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": key,
                    "UpdateExpression": "SET #status = :closed, closedAt = :at",
                    "ConditionExpression": "#status = :open",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":closed": {"S": ConversationStatus.CLOSED.value},
                        ":open": {"S": ConversationStatus.OPEN.value},
                        ":at": {"S": at},
                    },
                }
            }
        ]
        if lead_holds_it:
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": lead_key(conversation.account_id, conversation.lead_id),
                        "UpdateExpression": "REMOVE openConversations.#channel SET version = version + :one",
                        "ConditionExpression": "openConversations.#channel = :id",
                        "ExpressionAttributeNames": {"#channel": conversation.channel.value},
                        "ExpressionAttributeValues": {
                            ":id": {"S": conversation.conversation_id},
                            ":one": {"N": "1"},
                        },
                    }
                }
            )
        return commit(self._db, items + self._audited(audit), "close conversation")

    def mark_unreachable(self, conversation: Conversation, reason: str, at: str) -> None:
        values = {":at": {"S": at}, ":reason": {"S": reason}}
        self._set(conversation, "unreachableAt = :at, unreachableReason = :reason", values)

    def set_auto_reply(
        self, conversation: Conversation, enabled: bool, audit: AuditEntry | None = None
    ) -> None:
        if audit is None:
            self._set(conversation, "autoReply = :on", {":on": {"BOOL": enabled}})
            return
        update = {
            "TableName": self._table,
            "Key": conversation_key(conversation.account_id, conversation.conversation_id),
            "UpdateExpression": "SET autoReply = :on",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {":on": {"BOOL": enabled}},
        }
        if not commit(self._db, [{"Update": update}, audit_put(self._table, audit)], "update conversation"):
            raise NotFound("Conversation not found")

    def _set(self, conversation: Conversation, assignments: str, values: dict[str, Any]) -> None:
        """SET `assignments` on the stored conversation (which must exist)."""
        with storage_errors("update conversation"):
            self._db.update_item(
                TableName=self._table,
                Key=conversation_key(conversation.account_id, conversation.conversation_id),
                UpdateExpression=f"SET {assignments}",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=values,
            )

    def list_conversations(
        self,
        account_id: str,
        channel: Channel | None,
        status: ConversationStatus | None,
        lead_id: str | None,
        limit: int,
        cursor: str | None,
        bound: int,
    ) -> Page[Conversation]:
        filters = {"channel": channel.value if channel else None, "status": status.value if status else None}
        filters["leadId"] = lead_id
        page = query_page(
            self._db,
            self._table,
            partition=("gsi1pk", conversations_index_pk(account_id)),
            index="gsi1",
            limit=limit,
            cursor=cursor,
            filters={k: v for k, v in filters.items() if v is not None},
            bound=bound,
        )
        return Page([values_to_conversation(v) for v in page.items], page.next_cursor)

    def count_open(self, account_id: str, bound: int) -> BoundedCount:
        """Open conversations among the `bound` most recently active ones (open ones are mostly recent)."""
        return count_items(
            self._db,
            self._table,
            partition=("gsi1pk", conversations_index_pk(account_id)),
            index="gsi1",
            filters={"status": ConversationStatus.OPEN.value},
            bound=bound,
        )

    def list_messages(
        self, account_id: str, conversation_id: str, limit: int, cursor: str | None
    ) -> Page[Message]:
        return self._messages(account_id, conversation_id, limit, cursor, oldest_first=True)

    def _messages(
        self, account_id: str, conversation_id: str, limit: int, cursor: str | None, *, oldest_first: bool
    ) -> Page[Message]:
        page = query_page(
            self._db,
            self._table,
            partition=("pk", conversation_pk(account_id, conversation_id)),
            sort_prefix=("sk", "MSG#"),
            limit=limit,
            cursor=cursor,
            oldest_first=oldest_first,
        )
        return Page([values_to_message(v) for v in page.items], page.next_cursor)

    def _pointed_message(self, pointer_key: dict[str, Any]) -> Message | None:
        """The message a pointer item (provider index entry, reply marker) names."""
        pointer = get_values(self._db, self._table, pointer_key, "find message")
        return self._message_at(pointer["messagePk"], pointer["messageSk"]) if pointer else None

    def _message_at(self, pk: str, sk: str) -> Message | None:
        values = get_values(self._db, self._table, {"pk": {"S": pk}, "sk": {"S": sk}}, "read message")
        return values_to_message(values) if values else None

    # -- transaction elements --------------------------------------------------------------------

    def _conversation_write(self, write: InboundWrite) -> dict[str, Any]:
        if write.new_conversation is not None:
            first = replace(write.new_conversation, last_message=message_preview(write.message))
            return put_new(self._table, conversation_to_values(first))
        update = self._one_more_message(write.message, write.at)
        # A lead who writes can be written to again; only an open conversation takes their message.
        update["UpdateExpression"] += " REMOVE unreachableAt, unreachableReason"
        update["ConditionExpression"] += " AND #status = :open"
        update["ExpressionAttributeNames"] = {"#status": "status"}
        update["ExpressionAttributeValues"][":open"] = {"S": ConversationStatus.OPEN.value}
        return {"Update": update}
