"""GET /api/conversations with filters inside moto: a page reads a bounded number of conversations, and
the cursor goes on from where the reading stopped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from leadhub.conversations.adapters.dynamodb_conversation_items import conversation_to_values
from leadhub.conversations.conversations import FILTERED_READ_BOUND
from leadhub.conversations.models import Channel, Conversation, ConversationStatus
from leadhub.platform.adapters.aws_clients import client
from leadhub.platform.adapters.dynamodb_items import to_item
from tests.integration.conftest import Account, Api, Stack, shared_clients


class ConversationsRead:
    """Counts the conversations the handlers' DynamoDB queries read (ScannedCount, before any filter)."""

    def __init__(self) -> None:
        self.items = 0
        client("dynamodb").meta.events.register("after-call.dynamodb.Query", self._count)

    def _count(self, parsed: dict[str, Any], **_: Any) -> None:
        self.items += parsed.get("ScannedCount", 0)

    def close(self) -> None:
        client("dynamodb").meta.events.unregister("after-call.dynamodb.Query", self._count)


@pytest.fixture
def reads(stack: Stack) -> Iterator[ConversationsRead]:
    counter = ConversationsRead()
    yield counter
    counter.close()


def store_conversations(stack: Stack, account: Account, statuses: list[ConversationStatus]) -> None:
    """Conversations of one lead each, the first the oldest activity."""
    items = []
    for n, status in enumerate(statuses):
        at = f"2026-11-{1 + n // 1440:02d}T{n // 60 % 24:02d}:{n % 60:02d}:00.000Z"
        conversation = Conversation(
            account.account_id, f"conv_{n:05d}", f"lead_{n:05d}", Channel.TELEGRAM, status, at, at
        )
        items.append({"PutRequest": {"Item": to_item(conversation_to_values(conversation))}})
    db = shared_clients().client("dynamodb")
    for start in range(0, len(items), 25):
        db.batch_write_item(RequestItems={stack.table_name: items[start : start + 25]})


def test_a_filter_matching_nothing_recent_reads_a_bounded_batch_then_offers_to_go_on(
    api: Api, stack: Stack, account: Account, reads: ConversationsRead
) -> None:
    statuses = [ConversationStatus.CLOSED] + [ConversationStatus.OPEN] * (FILTERED_READ_BOUND + 200)
    store_conversations(stack, account, statuses)

    first = api.call("GET", "/api/conversations", api_key=account.api_key, query="status=closed&limit=10")

    assert first.status == 200 and first.body["items"] == []
    assert first.body["nextCursor"] is not None  # older conversations are unread, not absent
    assert reads.items <= FILTERED_READ_BOUND
    query = f"status=closed&limit=10&cursor={first.body['nextCursor']}"
    second = api.call("GET", "/api/conversations", api_key=account.api_key, query=query)
    assert [c["conversationId"] for c in second.body["items"]] == ["conv_00000"]
    assert second.body["nextCursor"] is None


def test_filtered_pages_are_full_when_matches_exist_and_continue_exactly(
    api: Api, stack: Stack, account: Account
) -> None:
    statuses = [ConversationStatus.OPEN if n % 3 else ConversationStatus.CLOSED for n in range(60)]
    store_conversations(stack, account, statuses)
    closed = [f"conv_{n:05d}" for n in reversed(range(60)) if n % 3 == 0]

    shown: list[str] = []
    cursor = None
    while True:
        query = "status=closed&limit=7" + (f"&cursor={cursor}" if cursor else "")
        page = api.call("GET", "/api/conversations", api_key=account.api_key, query=query).body
        shown += [c["conversationId"] for c in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
        assert len(page["items"]) == 7

    assert shown == closed
