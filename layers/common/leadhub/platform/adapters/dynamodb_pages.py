"""Pages of one partition (or index partition), newest first unless asked otherwise, optionally filtered,
with opaque cursors that cannot be pointed at another account's partition."""

from __future__ import annotations

from typing import Any

from leadhub.platform.adapters.aws_clients import storage_errors
from leadhub.platform.adapters.dynamodb_items import from_item, key_values
from leadhub.platform.errors import FieldError, InvalidRequest
from leadhub.platform.ids import decode_cursor, encode_cursor
from leadhub.platform.paging import Page


def query_page(
    db: Any,
    table: str,
    *,
    partition: tuple[str, str],
    limit: int,
    cursor: str | None,
    index: str | None = None,
    sort_prefix: tuple[str, str] | None = None,
    filters: dict[str, str] | None = None,
    oldest_first: bool = False,
) -> Page[dict[str, Any]]:
    """Items of the partition `partition = (attribute, value)`, newest (highest sort key) first.
    Index names follow the table's convention: index `gsi1` is keyed by `gsi1pk`/`gsi1sk`.
    `filters` keeps items whose attributes equal the given values; a filtered page is filled up to
    `limit` from further reads, so a short page still means the listing is at its end."""
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
        "ScanIndexForward": oldest_first,
        "Limit": limit,
    }
    for n, (name, wanted) in enumerate(sorted((filters or {}).items())):
        names[f"#f{n}"], values[f":f{n}"] = name, {"S": wanted}
    if filters:
        request["FilterExpression"] = " AND ".join(f"#f{n} = :f{n}" for n in range(len(filters)))
    key_attributes = {"pk", "sk"} | ({f"{index}pk", f"{index}sk"} if index else set())
    if index:
        request["IndexName"] = index
    if cursor:
        request["ExclusiveStartKey"] = _start_key(cursor, key_attributes, attr, value, sort_prefix)
    items: list[dict[str, Any]] = []
    while True:
        with storage_errors("list"):
            result = db.query(**request)
        items += result.get("Items", [])
        last = result.get("LastEvaluatedKey")
        if len(items) >= limit or not last:
            break
        request["ExclusiveStartKey"] = last
    if len(items) > limit:  # continue after the last item returned, not after the last one read
        items = items[:limit]
        last = {k: items[-1][k] for k in key_attributes}
    next_cursor = encode_cursor(key_values(last)) if last else None
    return Page([from_item(item) for item in items], next_cursor)


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
