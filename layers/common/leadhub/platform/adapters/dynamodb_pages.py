"""Pages of one partition (or index partition), newest first unless asked otherwise, optionally filtered,
with opaque cursors that cannot be pointed at another account's partition."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from leadhub.platform.adapters.aws_clients import storage_errors
from leadhub.platform.adapters.dynamodb_items import from_item, key_values
from leadhub.platform.errors import FieldError, InvalidRequest
from leadhub.platform.ids import decode_cursor, encode_cursor
from leadhub.platform.paging import BoundedCount, BoundedPage, Page

# A bounded filtered listing reads this many items at a time (at least): few round trips for a rare match.
BOUNDED_READ_CHUNK = 100


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
    bound: int | None = None,
) -> Page[dict[str, Any]]:
    """Items of the partition `partition = (attribute, value)`, newest (highest sort key) first.
    Index names follow the table's convention: index `gsi1` is keyed by `gsi1pk`/`gsi1sk`.
    `filters` keeps items whose attributes equal the given values; a filtered page is filled up to
    `limit` from further reads, so a short page still means the listing is at its end. With `bound`, a
    filtered page reads at most that many items (in reads of BOUNDED_READ_CHUNK or `limit`, whichever is
    more), and a short page with a cursor means the bound stopped the reading."""
    attr, value = partition
    condition, names, values = _key_condition(partition, sort_prefix, "begins_with(#s, :s)")
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
    if filters and bound is not None:
        request["Limit"] = min(max(limit, BOUNDED_READ_CHUNK), bound)
    items: list[dict[str, Any]] = []
    read = 0
    while True:
        with storage_errors("list"):
            result = db.query(**request)
        items += result.get("Items", [])
        read += result.get("ScannedCount", 0)
        last = result.get("LastEvaluatedKey")
        if len(items) >= limit or not last:
            break
        if filters and bound is not None:
            if read >= bound:
                break
            request["Limit"] = min(request["Limit"], bound - read)
        request["ExclusiveStartKey"] = last
    if len(items) > limit:  # continue after the last item returned, not after the last one read
        items = items[:limit]
        last = {k: items[-1][k] for k in key_attributes}
    next_cursor = encode_cursor(key_values(last)) if last else None
    return Page([from_item(item) for item in items], next_cursor)


def _key_condition(
    partition: tuple[str, str], sort: tuple[str, str] | None, sort_test: str
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """A KeyConditionExpression with its names and values: the partition `(attribute, value)`, and when
    `sort` is given, `sort_test` on `#s` (its attribute) and `:s` (its value)."""
    condition = "#p = :p"
    names = {"#p": partition[0]}
    values: dict[str, Any] = {":p": {"S": partition[1]}}
    if sort is not None:
        condition += f" AND {sort_test}"
        names["#s"], values[":s"] = sort[0], {"S": sort[1]}
    return condition, names, values


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


def count_items(
    db: Any,
    table: str,
    *,
    partition: tuple[str, str],
    bound: int,
    index: str | None = None,
    sort_from: tuple[str, str] | None = None,
    filters: dict[str, str] | None = None,
    at_least: dict[str, str] | None = None,
) -> BoundedCount:
    """How many items of the partition (with sort key >= `sort_from`'s value) match `filters` (equal) and
    `at_least` (attribute >= value), reading at most `bound` items (Select=COUNT: no item is returned).
    Past the bound the count is incomplete: a lower limit."""
    condition, names, values = _key_condition(partition, sort_from, "#s >= :s")
    comparisons = [(name, "=", wanted) for name, wanted in sorted((filters or {}).items())]
    comparisons += [(name, ">=", lowest) for name, lowest in sorted((at_least or {}).items())]
    for n, (name, _, operand) in enumerate(comparisons):
        names[f"#f{n}"], values[f":f{n}"] = name, {"S": operand}
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "Select": "COUNT",
    }
    if comparisons:
        request["FilterExpression"] = " AND ".join(
            f"#f{n} {operator} :f{n}" for n, (_, operator, _) in enumerate(comparisons)
        )
    if index:
        request["IndexName"] = index
    counted = read = 0
    while True:
        request["Limit"] = bound - read
        with storage_errors("count"):
            result = db.query(**request)
        counted += result.get("Count", 0)
        read += result.get("ScannedCount", 0)
        last = result.get("LastEvaluatedKey")
        if not last:
            return BoundedCount(counted)
        if read >= bound:
            return BoundedCount(counted, complete=False)
        request["ExclusiveStartKey"] = last


def scan_page(
    db: Any,
    table: str,
    *,
    partition: tuple[str, str],
    keep: Callable[[dict[str, Any]], bool],
    limit: int,
    bound: int,
    cursor: str | None,
    index: str | None = None,
    sort_prefix: tuple[str, str] | None = None,
    sort_from: tuple[str, str] | None = None,
    chunk: int = 100,
) -> BoundedPage[dict[str, Any]]:
    """The partition's items (plain values) that `keep` accepts, newest first: at most `limit` of them,
    reading at most `bound` items. For matches no key condition or filter expression can express (e.g. a
    case-insensitive substring). `next_cursor` continues after the last item returned when the page is
    full, else after the last item read when the bound stopped the reading; None at the partition's end.
    `sort_from` (attribute, lowest value) ends the reading at older items (instead of `sort_prefix`)."""
    attr, value = partition
    if sort_from is not None:
        condition, names, values = _key_condition(partition, sort_from, "#s >= :s")
    else:
        condition, names, values = _key_condition(partition, sort_prefix, "begins_with(#s, :s)")
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
    }
    key_attributes = {"pk", "sk"} | ({f"{index}pk", f"{index}sk"} if index else set())
    if index:
        request["IndexName"] = index
    if cursor:
        request["ExclusiveStartKey"] = _start_key(cursor, key_attributes, attr, value, sort_prefix)
    kept: list[dict[str, Any]] = []
    read = 0
    while True:
        request["Limit"] = min(chunk, bound - read)
        with storage_errors("list"):
            result = db.query(**request)
        last = result.get("LastEvaluatedKey")
        for item in result.get("Items", []):
            read += 1
            values_ = from_item(item)
            if keep(values_):
                kept.append(values_)
                if len(kept) == limit:
                    more = last is not None or item is not result["Items"][-1]
                    start = {k: item[k] for k in key_attributes} if more else None
                    return BoundedPage(kept, _cursor(start), read, complete=True)
        if not last:
            return BoundedPage(kept, None, read, complete=True)
        if read >= bound:
            return BoundedPage(kept, _cursor(last), read, complete=False)
        request["ExclusiveStartKey"] = last


def _cursor(key: dict[str, Any] | None) -> str | None:
    return encode_cursor(key_values(key)) if key else None
