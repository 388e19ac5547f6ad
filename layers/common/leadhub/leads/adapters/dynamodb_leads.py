"""Leads in the single table: pk ACCOUNT#{accountId}, sk LEAD#{leadId}; gsi1 lists an account's leads by
capture time. A lead and its audit entry are written in one transaction."""

from __future__ import annotations

import uuid
from typing import Any

from botocore.exceptions import ClientError

from leadhub.accounts.adapters.dynamodb_audit import audit_put
from leadhub.accounts.audit import AuditEntry
from leadhub.leads.models import Lead
from leadhub.platform.adapters.aws_clients import first_cancellation_reason, storage_errors, storage_failure
from leadhub.platform.adapters.dynamodb_items import account_pk, from_item, from_stream_image, to_item
from leadhub.platform.adapters.dynamodb_pages import query_page
from leadhub.platform.adapters.dynamodb_queries import TableAdapter, get_values, put_if_version
from leadhub.platform.errors import StorageUnavailable
from leadhub.platform.paging import Page

LEAD_ENTITY = "lead"


def lead_key(account_id: str, lead_id: str) -> dict[str, Any]:
    return {"pk": {"S": account_pk(account_id)}, "sk": {"S": f"LEAD#{lead_id}"}}


def lead_to_values(lead: Lead) -> dict[str, Any]:
    return {
        "pk": account_pk(lead.account_id),
        "sk": f"LEAD#{lead.lead_id}",
        "gsi1pk": f"{account_pk(lead.account_id)}#LEADS",
        "gsi1sk": f"{lead.captured_at}#{lead.lead_id}",
        "entity": LEAD_ENTITY,
        "accountId": lead.account_id,
        "leadId": lead.lead_id,
        "phone": lead.phone,
        "name": lead.name,
        "email": lead.email,
        "tags": list(lead.tags),
        "customFields": dict(lead.custom_fields),
        "source": lead.source,
        "capturedAt": lead.captured_at,
        "updatedAt": lead.updated_at,
        "lastActivityAt": lead.last_activity_at,
        "reEngagedAt": lead.re_engaged_at,
        "previousActivityAt": lead.previous_activity_at,
        "lastConversationAt": lead.last_conversation_at,
        "channelIds": dict(lead.channel_ids) or None,
        "usernames": dict(lead.usernames) or None,
        "openConversations": dict(lead.open_conversations) or None,
        "version": lead.version,
    }


def values_to_lead(values: dict[str, Any]) -> Lead:
    return Lead(
        account_id=values["accountId"],
        lead_id=values["leadId"],
        phone=values.get("phone"),
        name=values.get("name"),
        email=values.get("email"),
        tags=tuple(values.get("tags", ())),
        custom_fields=values.get("customFields", {}),
        source=values.get("source", "webhook"),
        captured_at=values["capturedAt"],
        updated_at=values["updatedAt"],
        last_activity_at=values["lastActivityAt"],
        re_engaged_at=values.get("reEngagedAt"),
        previous_activity_at=values.get("previousActivityAt"),
        last_conversation_at=values.get("lastConversationAt"),
        channel_ids=values.get("channelIds", {}),
        usernames=values.get("usernames", {}),
        open_conversations=values.get("openConversations", {}),
        version=int(values.get("version", 1)),
    )


_CANCELLED = frozenset({"TransactionCanceledException"})


class DynamoLeadRepository(TableAdapter):
    def insert_new(self, lead: Lead, audit: AuditEntry) -> Lead | None:
        for _ in range(3):
            try:
                with storage_errors("insert lead", expected=_CANCELLED):
                    self._db.transact_write_items(
                        TransactItems=[
                            {
                                "Put": {
                                    "TableName": self._table,
                                    "Item": to_item(lead_to_values(lead)),
                                    "ConditionExpression": "attribute_not_exists(pk)",
                                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                                }
                            },
                            audit_put(self._table, audit),
                        ],
                        # Makes the SDK's own retries idempotent: a retried commit is not a "duplicate".
                        ClientRequestToken=str(uuid.uuid4()),
                    )
                return None
            except ClientError as exc:
                reason = first_cancellation_reason(exc)
                if reason.get("Code") == "ConditionalCheckFailed" and "Item" in reason:
                    return values_to_lead(from_item(reason["Item"]))
                if reason.get("Code") not in ("ConditionalCheckFailed", "TransactionConflict"):
                    raise storage_failure(exc, "insert lead") from exc
            # Lost a race with a concurrent write of the same lead: whatever won is there now.
            existing = self.get(lead.account_id, lead.lead_id)
            if existing is not None:
                return existing
        raise StorageUnavailable("The lead is being written concurrently; please retry")

    def replace(self, lead: Lead, expected_version: int) -> bool:
        return put_if_version(self._db, self._table, lead_to_values(lead), expected_version, "update lead")

    def get(self, account_id: str, lead_id: str) -> Lead | None:
        values = get_values(self._db, self._table, lead_key(account_id, lead_id), "read lead")
        return values_to_lead(values) if values else None

    def list_page(self, account_id: str, limit: int, cursor: str | None) -> Page[Lead]:
        page = query_page(
            self._db,
            self._table,
            partition=("gsi1pk", f"{account_pk(account_id)}#LEADS"),
            index="gsi1",
            limit=limit,
            cursor=cursor,
        )
        return Page([values_to_lead(v) for v in page.items], page.next_cursor)

    def capture_times_since(self, account_id: str, since: str, bound: int) -> Page[str]:
        """When the leads captured at or after `since` (ISO-8601) were captured, newest first: at most
        `bound`, read from the capture-time index's keys only. `next_cursor` is set when there are more."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p AND gsi1sk >= :since",
            "ExpressionAttributeValues": {
                ":p": {"S": f"{account_pk(account_id)}#LEADS"},
                ":since": {"S": since},
            },
            "ProjectionExpression": "gsi1sk",
            "ScanIndexForward": False,
        }
        times: list[str] = []
        while True:
            request["Limit"] = bound - len(times)
            with storage_errors("count leads"):
                result = self._db.query(**request)
            times += [item["gsi1sk"]["S"].partition("#")[0] for item in result.get("Items", [])]
            last = result.get("LastEvaluatedKey")
            if not last or len(times) >= bound:
                return Page(times, "more" if last else None)
            request["ExclusiveStartKey"] = last


def lead_from_image(image: dict[str, Any] | None) -> Lead | None:
    """The lead in a stream record's OldImage/NewImage (DynamoDB JSON), or None if it holds no lead."""
    if not image or image.get("entity", {}).get("S") != LEAD_ENTITY:
        return None
    return values_to_lead(from_stream_image(image))
