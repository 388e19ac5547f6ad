"""Several items of the table by key in one BatchGetItem request (up to 100 keys per request)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from leadhub.adapters.aws import storage_errors, unavailable

MAX_BATCH_GET_KEYS = 100  # DynamoDB's limit per BatchGetItem request
# Keys DynamoDB leaves unprocessed (throttling, the 16 MB response limit) are asked for again, after a
# short jittered backoff, this many times in all; then the read fails as unavailable.
UNPROCESSED_TRIES = 5
_BACKOFF_S = 0.025


def batch_get(
    db: Any,
    table: str,
    keys: Sequence[dict[str, Any]],
    what: str,
    *,
    consistent: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> list[dict[str, Any]]:
    """The stored items among `keys` (DynamoDB key maps, no duplicates), in no particular order; keys
    without an item are simply absent."""
    items: list[dict[str, Any]] = []
    for start in range(0, len(keys), MAX_BATCH_GET_KEYS):
        pending = list(keys[start : start + MAX_BATCH_GET_KEYS])
        for attempt in range(UNPROCESSED_TRIES):
            if attempt:
                sleep(_BACKOFF_S * 2 ** (attempt - 1) * random.uniform(0.5, 1.0))
            with storage_errors(what):
                result = db.batch_get_item(
                    RequestItems={table: {"Keys": pending, "ConsistentRead": consistent}}
                )
            items += result.get("Responses", {}).get(table, [])
            pending = result.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
            if not pending:
                break
        else:
            raise unavailable(what)  # throttled throughout
    return items
