"""How much of what a channel receives is stored with a message, so that every item fits DynamoDB's
limits (400 KB an item, 2 KB a key, 32 levels of nesting) whatever a provider sends: an id longer than
MAX_ID_CHARS refuses the message (UnstorableInput: acknowledged and ignored); longer texts and names are
cut, ending with TRUNCATED; content keeps its entries in order while they fit MAX_CONTENT_BYTES and
MAX_CONTENT_DEPTH, and names the rest under "omitted". A message item stays far below 400 KB (text
≤ 80 KB as UTF-8, content ≤ ~90 KB, ids and names a few KB)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from leadhub.conversations.models import InboundMessage
from leadhub.platform.errors import UnstorableInput

MAX_ID_CHARS = 256
MAX_TEXT_CHARS = 20_000  # 4,096 is the most WhatsApp and Telegram allow; emails are trimmed to this
MAX_NAME_CHARS = 256
MAX_CONTENT_BYTES = 64 * 1024
MAX_CONTENT_DEPTH = 16
TRUNCATED = "…[truncated]"
OMITTED = "omitted"
_MAX_OMITTED_NAMES, _MAX_OMITTED_NAME_CHARS = 8, 64  # the list adds at most ~2 KB


def storable_id(value: str) -> bool:
    return len(value) <= MAX_ID_CHARS


def check_ids(values: Iterable[str]) -> None:
    if not all(map(storable_id, values)):
        raise UnstorableInput(f"An id or route value is longer than {MAX_ID_CHARS} characters")


def bounded_text(text: str | None, limit: int = MAX_TEXT_CHARS) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATED)] + TRUNCATED


def bounded_content(content: Mapping[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    omitted: list[str] = []
    size = 2  # the braces
    for key, value in content.items():
        value = _bounded_strings(value)
        entry_size = _json_size({key: value}) - 1  # its share of the object: a comma, no braces
        if _depth(value) < MAX_CONTENT_DEPTH and size + entry_size <= MAX_CONTENT_BYTES:
            kept[key] = value
            size += entry_size
        else:
            omitted.append(bounded_text(key, _MAX_OMITTED_NAME_CHARS) or "")
    if omitted:
        extra = len(omitted) - _MAX_OMITTED_NAMES
        kept[OMITTED] = omitted if extra <= 0 else [*omitted[:_MAX_OMITTED_NAMES], f"{extra} more"]
    return kept


def storable_inbound(inbound: InboundMessage) -> InboundMessage:
    """The message bounded as above; UnstorableInput when an id is too long to be stored."""
    contact = inbound.contact
    name = bounded_text(contact.name, MAX_NAME_CHARS)
    check_ids(
        [
            inbound.provider_message_id,
            inbound.type,
            contact.key,
            *inbound.dedupe_keys,
            *inbound.route.values(),
            *([inbound.conversation_id] if inbound.conversation_id else []),
            *(v for v in (contact.phone, contact.email) if v),
        ]
    )
    return replace(
        inbound,
        contact=replace(contact, name=name, username=bounded_text(contact.username, MAX_NAME_CHARS)),
        text=bounded_text(inbound.text),
        content=bounded_content(inbound.content),
    )


def _bounded_strings(value: Any) -> Any:
    if isinstance(value, str):
        return bounded_text(value)
    if isinstance(value, Mapping):
        return {k: _bounded_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_bounded_strings(v) for v in value]
    return value


def _json_size(value: Any) -> int:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return len(text.encode("utf-8", "surrogatepass"))


def _depth(value: Any) -> int:
    if isinstance(value, Mapping):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list | tuple):
        return 1 + max(map(_depth, value), default=0)
    return 0
