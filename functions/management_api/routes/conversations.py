"""Reading conversations and their messages (`conversations:manage`)."""

from __future__ import annotations

from typing import Annotated

import deps
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from schemas import ConversationOut, ConversationPageOut, MessageOut, MessagePageOut

from leadhub.domain import conversations
from leadhub.models.account import Scope
from leadhub.models.conversation import Channel, ConversationStatus

router = Router()
TAGS = ["Conversations"]
ConversationId = Annotated[str, Path(max_length=64)]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=2048, description="`nextCursor` of the previous page")]


@router.get(
    "/api/conversations",
    summary="List conversations, newest activity first",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
)
def get_conversations(
    channel: Annotated[Channel | None, Query()] = None,
    status: Annotated[ConversationStatus | None, Query()] = None,
    leadId: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 25,
    cursor: Cursor = None,
) -> ConversationPageOut:
    caller = deps.principal(router, Scope.CONVERSATIONS_MANAGE)
    page = conversations.list_conversations(
        caller.account_id,
        channel=channel,
        status=status,
        lead_id=leadId,
        limit=limit,
        cursor=cursor,
        store=deps.conversations,
    )
    items = [ConversationOut.model_validate(c.to_public()) for c in page.items]
    return ConversationPageOut(items=items, nextCursor=page.next_cursor)


@router.get(
    "/api/conversations/<conversationId>",
    summary="One conversation",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
)
def get_conversation(conversationId: ConversationId) -> ConversationOut:
    caller = deps.principal(router, Scope.CONVERSATIONS_MANAGE)
    found = conversations.get_conversation(caller.account_id, conversationId, store=deps.conversations)
    return ConversationOut.model_validate(found.to_public())


@router.get(
    "/api/conversations/<conversationId>/messages",
    summary="A conversation's messages, oldest first (by the provider's timestamp)",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
)
def get_messages(conversationId: ConversationId, limit: Limit = 50, cursor: Cursor = None) -> MessagePageOut:
    caller = deps.principal(router, Scope.CONVERSATIONS_MANAGE)
    page = conversations.list_messages(
        caller.account_id, conversationId, limit, cursor, store=deps.conversations
    )
    items = [MessageOut.model_validate(m.to_public()) for m in page.items]
    return MessagePageOut(items=items, nextCursor=page.next_cursor)
