"""Newest-first pages of one partition (or index partition), with opaque cursors that cannot be pointed
at another account's partition."""

from __future__ import annotations

from typing import Any

from leadhub.adapters.aws import storage_errors
from leadhub.adapters.dynamodb_items import from_item
from leadhub.errors import FieldError, InvalidRequest
from leadhub.ids import decode_cursor, encode_cursor
from leadhub.models.page import Page


def query_page(
    db: Any,
    table: str,
    *,
    partition: tuple[str, str],
    limit: int,
    cursor: str | None,
    index: str | None = None,
    sort_prefix: tuple[str, str] | None = None,
) -> Page[dict[str, Any]]:
    """Items of the partition `partition = (attribute, value)`, newest (highest sort key) first.
    Index names follow the table's convention: index `gsi1` is keyed by `gsi1pk`/`gsi1sk`."""
    attr, value = partition
    condition = "#p = :p"
    names = {"#p": attr}
    values: dict[str, Any] = {":p": {"S": value}}
    if sort_prefix is not None:
        condition += " AND begins_with(#s, :s)"
        names["#s"], values[":s"] = sort_prefix[0], {"S": sort_prefix[1]}
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if index:
        request["IndexName"] = index
    if cursor:
        key_attributes = {"pk", "sk"} | ({f"{index}pk", f"{index}sk"} if index else set())
        request["ExclusiveStartKey"] = _start_key(cursor, key_attributes, attr, value, sort_prefix)
    with storage_errors("list"):
        result = db.query(**request)
    last = result.get("LastEvaluatedKey")
    next_cursor = encode_cursor({k: v["S"] for k, v in last.items()}) if last else None
    return Page([from_item(item) for item in result.get("Items", [])], next_cursor)


def _start_key(
    cursor: str, key_attributes: set[str], attr: str, value: str, sort_prefix: tuple[str, str] | None
) -> dict[str, Any]:
    """The start key a cursor names, refused unless it lies inside the partition being listed."""
    key = decode_cursor(cursor)
    valid = key is not None and set(key) == key_attributes and key[attr] == value
    if valid and key is not None and sort_prefix is not None:
        valid = key[sort_prefix[0]].startswith(sort_prefix[1])
    if not valid or key is None:
        raise InvalidRequest("Invalid cursor", [FieldError("cursor", "not a cursor of this listing")])
    return {k: {"S": v} for k, v in key.items()}
