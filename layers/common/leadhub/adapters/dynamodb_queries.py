"""Reads and writes the adapters share: one item, every item of a key prefix, optimistic replacement and
transactions that report a failed condition."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from leadhub.adapters.aws import (
    ClientFactory,
    client,
    error_code,
    first_cancellation_reason,
    storage_errors,
    storage_failure,
)
from leadhub.adapters.dynamodb_items import from_item, to_item

_CONDITION_FAILED = frozenset({"ConditionalCheckFailedException"})
_CANCELLED = frozenset({"TransactionCanceledException"})


def query_prefix(db: Any, table: str, pk: str, sk_prefix: str, what: str) -> list[dict[str, Any]]:
    """Plain values of every item in partition `pk` whose sort key starts with `sk_prefix`, in key order."""
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {":pk": {"S": pk}, ":prefix": {"S": sk_prefix}},
    }
    values: list[dict[str, Any]] = []
    while True:
        with storage_errors(what):
            page = db.query(**request)
        values += [from_item(item) for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return values
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def write_if(what: str, write: Callable[[], object]) -> bool:
    """Run one conditional write (PutItem, UpdateItem, DeleteItem); False when its condition failed."""
    try:
        with storage_errors(what, expected=_CONDITION_FAILED):
            write()
    except ClientError as exc:
        if error_code(exc) in _CONDITION_FAILED:
            return False
        raise
    return True


def put_if_version(db: Any, table: str, values: dict[str, Any], expected_version: int, what: str) -> bool:
    """Overwrite the item unless someone changed it since `expected_version`; False if they did."""
    return write_if(
        what,
        lambda: db.put_item(
            TableName=table,
            Item=to_item(values),
            ConditionExpression="version = :expected",
            ExpressionAttributeValues={":expected": {"N": str(expected_version)}},
        ),
    )


def get_values(db: Any, table: str, key: dict[str, Any], what: str) -> dict[str, Any] | None:
    """Plain values of one item (strongly consistent read), or None when there is none."""
    with storage_errors(what):
        result = db.get_item(TableName=table, Key=key, ConsistentRead=True)
    return from_item(result["Item"]) if "Item" in result else None


def commit(db: Any, items: list[dict[str, Any]], what: str) -> bool:
    """Commit a TransactWriteItems, or False when one of its conditions failed."""
    try:
        with storage_errors(what, expected=_CANCELLED):
            db.transact_write_items(TransactItems=items)
    except ClientError as exc:
        if first_cancellation_reason(exc).get("Code") == "ConditionalCheckFailed":
            return False
        raise storage_failure(exc, what) from exc
    return True


class TableAdapter:
    """Base of the repositories: the table's name and a lazily created, cached DynamoDB client."""

    def __init__(self, table_name: str, clients: ClientFactory = client) -> None:
        self._table = table_name
        self._clients = clients

    @property
    def _db(self) -> Any:
        return self._clients("dynamodb")
