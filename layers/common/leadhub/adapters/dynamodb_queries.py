"""Reads and writes several adapters share: every item of a key prefix, and optimistic replacement."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from leadhub.adapters.aws import error_code, storage_errors
from leadhub.adapters.dynamodb_items import from_item, to_item

_CONDITION_FAILED = frozenset({"ConditionalCheckFailedException"})


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


def put_if_version(db: Any, table: str, values: dict[str, Any], expected_version: int, what: str) -> bool:
    """Overwrite the item unless someone changed it since `expected_version`; False if they did."""
    try:
        with storage_errors(what, expected=_CONDITION_FAILED):
            db.put_item(
                TableName=table,
                Item=to_item(values),
                ConditionExpression="version = :expected",
                ExpressionAttributeValues={":expected": {"N": str(expected_version)}},
            )
    except ClientError as exc:
        if error_code(exc) in _CONDITION_FAILED:
            return False
        raise
    return True
