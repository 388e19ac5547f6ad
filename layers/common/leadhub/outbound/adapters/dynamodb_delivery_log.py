"""Deliveries and their attempts in the single table.

ACCOUNT#{owner} / DELIVERY#{deliveryId}      the delivery (status, attempts, the envelope for retries);
                                             gsi1: ENDPOINT#{endpointId} / {createdAt}#{deliveryId}
DELIVERY#{deliveryId} / ATTEMPT#{nnnn}       one item per attempt, expiring after ATTEMPT_TTL_DAYS

A skipped delivery (its endpoint disabled) expires after SKIPPED_TTL_DAYS: kept for `recover` (14 days
back), not for ever. Recovered, it is pending again and stays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from leadhub.outbound.models import Attempt, Delivery, DeliveryStatus
from leadhub.platform.adapters.aws_clients import error_code, storage_errors
from leadhub.platform.adapters.dynamodb_items import account_pk, to_item
from leadhub.platform.adapters.dynamodb_pages import count_items, query_page
from leadhub.platform.adapters.dynamodb_queries import TableAdapter, get_values, query_prefix
from leadhub.platform.paging import BoundedCount, Page
from leadhub.platform.timestamps import from_iso, to_iso

ATTEMPT_TTL_DAYS = 30
SKIPPED_TTL_DAYS = 30
MAX_ATTEMPTS_PER_WRITE = 50  # two items each; DynamoDB takes up to 100 items per transaction
_CONDITION_FAILED = frozenset({"ConditionalCheckFailedException"})


def delivery_key(account_id: str, delivery_id: str) -> dict[str, Any]:
    return {"pk": {"S": account_pk(account_id)}, "sk": {"S": f"DELIVERY#{delivery_id}"}}


def delivery_to_values(delivery: Delivery) -> dict[str, Any]:
    return {
        "pk": account_pk(delivery.account_id),
        "sk": f"DELIVERY#{delivery.delivery_id}",
        "entity": "delivery",
        "gsi1pk": f"ENDPOINT#{delivery.endpoint_id}",
        "gsi1sk": f"{delivery.created_at}#{delivery.delivery_id}",
        "accountId": delivery.account_id,
        "deliveryId": delivery.delivery_id,
        "endpointId": delivery.endpoint_id,
        "eventId": delivery.event_id,
        "event": delivery.event,
        "sourceAccountId": delivery.source_account_id,
        "createdAt": delivery.created_at,
        "updatedAt": delivery.updated_at,
        "envelope": delivery.envelope,
        "status": str(delivery.status),
        "attempts": delivery.attempts,
        "enqueued": delivery.enqueued,
        "lastStatusCode": delivery.last_status_code,
        "lastError": delivery.last_error,
        "nextAttemptAt": delivery.next_attempt_at,
        "deliveredAt": delivery.delivered_at,
        "expiresAt": _expiry(delivery),
    }


def _expiry(delivery: Delivery) -> int | None:
    if delivery.status is not DeliveryStatus.SKIPPED:
        return None
    return int((from_iso(delivery.updated_at) + timedelta(days=SKIPPED_TTL_DAYS)).timestamp())


def values_to_delivery(values: dict[str, Any]) -> Delivery:
    return Delivery(
        account_id=values["accountId"],
        delivery_id=values["deliveryId"],
        endpoint_id=values["endpointId"],
        event_id=values["eventId"],
        event=values["event"],
        source_account_id=values["sourceAccountId"],
        created_at=values["createdAt"],
        updated_at=values["updatedAt"],
        envelope=values["envelope"],
        status=DeliveryStatus(values["status"]),
        attempts=int(values.get("attempts", 0)),
        enqueued=bool(values.get("enqueued", False)),
        last_status_code=values.get("lastStatusCode"),
        last_error=values.get("lastError"),
        next_attempt_at=values.get("nextAttemptAt"),
        delivered_at=values.get("deliveredAt"),
    )


def attempt_to_values(attempt: Attempt) -> dict[str, Any]:
    expires = from_iso(attempt.at) + timedelta(days=ATTEMPT_TTL_DAYS)
    return {
        "pk": f"DELIVERY#{attempt.delivery_id}",
        "sk": f"ATTEMPT#{attempt.number:04d}#{attempt.at}",
        "entity": "delivery_attempt",
        "deliveryId": attempt.delivery_id,
        "number": attempt.number,
        "at": attempt.at,
        "durationMs": str(round(attempt.duration_ms, 1)),
        "statusCode": attempt.status_code,
        "errorClass": attempt.error_class,
        "responseSnippet": attempt.response_snippet,
        "nextAttemptAt": attempt.next_attempt_at,
        "manual": attempt.manual,
        "expiresAt": int(expires.timestamp()),
    }


def values_to_attempt(values: dict[str, Any]) -> Attempt:
    return Attempt(
        delivery_id=values["deliveryId"],
        number=int(values["number"]),
        at=values["at"],
        duration_ms=float(values["durationMs"]),
        status_code=values.get("statusCode"),
        error_class=values.get("errorClass"),
        response_snippet=values.get("responseSnippet", ""),
        next_attempt_at=values.get("nextAttemptAt"),
        manual=bool(values.get("manual", False)),
    )


class DynamoDeliveryLog(TableAdapter):
    def create_if_new(self, delivery: Delivery) -> bool:
        try:
            with storage_errors("record delivery", expected=_CONDITION_FAILED):
                self._db.put_item(
                    TableName=self._table,
                    Item=to_item(delivery_to_values(delivery)),
                    ConditionExpression="attribute_not_exists(pk)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ClientError as exc:
            if error_code(exc) not in _CONDITION_FAILED:
                raise
            existing = exc.response.get("Item")
            # Stored by an earlier run that crashed before queueing it: queue it now.
            return not (isinstance(existing, dict) and existing.get("enqueued", {}).get("BOOL"))
        return True

    def mark_enqueued(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            with storage_errors("record delivery"):
                self._db.update_item(
                    TableName=self._table,
                    Key=delivery_key(delivery.account_id, delivery.delivery_id),
                    UpdateExpression="SET enqueued = :true",
                    ExpressionAttributeValues={":true": {"BOOL": True}},
                )

    def get(self, account_id: str, delivery_id: str) -> Delivery | None:
        values = get_values(self._db, self._table, delivery_key(account_id, delivery_id), "read delivery")
        return values_to_delivery(values) if values else None

    def save(self, delivery: Delivery) -> None:
        with storage_errors("record delivery"):
            self._db.put_item(TableName=self._table, Item=to_item(delivery_to_values(delivery)))

    def record_attempt(self, delivery: Delivery, attempt: Attempt) -> Delivery:
        """Log the attempt and update the delivery in one transaction."""
        return self.record_attempts([(delivery, attempt)])[0]

    def record_attempts(self, records: Sequence[tuple[Delivery, Attempt]]) -> list[Delivery]:
        """`record_attempt` for several deliveries (distinct ones, at most MAX_ATTEMPTS_PER_WRITE) in one
        transaction: all are stored or, if it fails, none. The updated deliveries, in order."""
        if len(records) > MAX_ATTEMPTS_PER_WRITE:
            raise ValueError(f"at most {MAX_ATTEMPTS_PER_WRITE} attempts per transaction")
        updated = [replace(delivery, updated_at=attempt.at) for delivery, attempt in records]
        items: list[dict[str, Any]] = []
        for delivery, (_, attempt) in zip(updated, records, strict=True):
            items += [
                {"Put": {"TableName": self._table, "Item": to_item(attempt_to_values(attempt))}},
                {"Put": {"TableName": self._table, "Item": to_item(delivery_to_values(delivery))}},
            ]
        with storage_errors("record delivery attempt"):
            self._db.transact_write_items(TransactItems=items)
        return updated

    def attempts(self, delivery_id: str) -> list[Attempt]:
        items = query_prefix(
            self._db, self._table, f"DELIVERY#{delivery_id}", "ATTEMPT#", "read delivery attempts"
        )
        return [values_to_attempt(values) for values in items]

    def list_for_endpoint(self, endpoint_id: str, limit: int, cursor: str | None) -> Page[Delivery]:
        """Newest first."""
        page = query_page(
            self._db,
            self._table,
            partition=("gsi1pk", f"ENDPOINT#{endpoint_id}"),
            limit=limit,
            cursor=cursor,
            index="gsi1",
        )
        return Page([values_to_delivery(values) for values in page.items], page.next_cursor)

    def recoverable_since(
        self, endpoint_id: str, since: datetime, statuses: frozenset[DeliveryStatus]
    ) -> list[Delivery]:
        deliveries: list[Delivery] = []
        cursor: str | None = None
        while True:
            page = self.list_for_endpoint(endpoint_id, 100, cursor)
            for delivery in page.items:
                if delivery.created_at < to_iso(since):
                    return deliveries
                if delivery.status in statuses:
                    deliveries.append(delivery)
            if page.next_cursor is None:
                return deliveries
            cursor = page.next_cursor

    def count_failed_since(
        self, account_id: str, endpoint_ids: Sequence[str], created_since: str, failed_since: str, bound: int
    ) -> BoundedCount:
        """The account's deliveries to these endpoints created at or after `created_since` that failed
        (every attempt used) at or after `failed_since`, reading at most `bound` deliveries per endpoint."""
        total, complete = 0, True
        for endpoint_id in endpoint_ids:
            count = count_items(
                self._db,
                self._table,
                partition=("gsi1pk", f"ENDPOINT#{endpoint_id}"),
                index="gsi1",
                sort_from=("gsi1sk", created_since),
                filters={"status": str(DeliveryStatus.FAILED), "accountId": account_id},
                at_least={"updatedAt": failed_since},
                bound=bound,
            )
            total, complete = total + count.value, complete and count.complete
        return BoundedCount(total, complete)
