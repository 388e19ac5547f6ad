"""Reading conversations and their messages (`conversations:manage`)."""

from __future__ import annotations

from typing import Annotated

import deps
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from schemas import JSON_BODY, KEYED, responses
from schemas.conversations import (
    ConversationOut,
    ConversationPageOut,
    ConversationPatchRequest,
    ManualMessageRequest,
    MessageOut,
    MessagePageOut,
)

from leadhub.accounts.models import Scope
from leadhub.conversations import agent_actions as agents
from leadhub.conversations import conversations
from leadhub.conversations.models import Channel, ConversationStatus
from leadhub.platform.timestamps import utc_now
from routes.paging import Cursor, Limit

router = Router()
TAGS = ["Conversations"]
ConversationId = Annotated[str, Path(max_length=64)]


@router.get(
    "/api/conversations",
    summary="List conversations, newest activity first",
    description="With filters (`channel`, `status`, `leadId`), a page holds up to `limit` matching "
    f"conversations among at most {conversations.FILTERED_READ_BOUND} read: a shorter page with a "
    "`nextCursor` means the reading stopped there, and older matches may follow the cursor. Without a "
    "`nextCursor` the listing is at its end.",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, 400, *KEYED),
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
        store=deps.conversations(),
    )
    items = [ConversationOut.model_validate(c.to_public()) for c in page.items]
    return ConversationPageOut(items=items, nextCursor=page.next_cursor)


@router.get(
    "/api/conversations/<conversationId>",
    summary="One conversation",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, 400, 404, *KEYED),
)
def get_conversation(conversationId: ConversationId) -> ConversationOut:
    caller = deps.principal(router, Scope.CONVERSATIONS_MANAGE)
    found = conversations.get_conversation(caller.account_id, conversationId, store=deps.conversations())
    return ConversationOut.model_validate(found.to_public())


@router.get(
    "/api/conversations/<conversationId>/messages",
    summary="A conversation's messages, oldest first (by the provider's timestamp)",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, 400, 404, *KEYED),
)
def get_messages(conversationId: ConversationId, limit: Limit = 50, cursor: Cursor = None) -> MessagePageOut:
    caller = deps.principal(router, Scope.CONVERSATIONS_MANAGE)
    page = conversations.list_messages(
        caller.account_id, conversationId, limit, cursor, store=deps.conversations()
    )
    items = [MessageOut.model_validate(m.to_public()) for m in page.items]
    return MessagePageOut(items=items, nextCursor=page.next_cursor)


@router.post(
    "/api/conversations/<conversationId>/messages",
    summary="Send a message as an agent (queued behind the conversation's pending replies; 202)",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(
        202,
        404,
        409,
        *JSON_BODY,
        *KEYED,
        why={409: "The conversation is closed, or the lead cannot be written to on its channel"},
    ),
)
def post_message(conversationId: ConversationId, request: ManualMessageRequest) -> tuple[MessageOut, int]:
    caller = deps.principal(router, Scope.CONVERSATIONS_MANAGE)
    message = agents.queue_manual_message(
        caller.account_id,
        conversationId,
        request.text,
        store=deps.conversations(),
        queue=deps.conversation_queue(),
        actor=caller.key_id,
        now=utc_now(),
        by=caller,
    )
    return MessageOut.model_validate(message.to_public()), 202


@router.post(
    "/api/conversations/<conversationId>/close",
    summary="Close the conversation (the lead's next message opens a new one)",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, 400, 404, *KEYED),
)
def close(conversationId: ConversationId) -> ConversationOut:
    caller = deps.principal(router, Scope.CONVERSATIONS_MANAGE)
    closed = agents.close_conversation(
        caller.account_id, conversationId, store=deps.conversations(), now=utc_now(), by=caller
    )
    return ConversationOut.model_validate(closed.to_public())


@router.patch(
    "/api/conversations/<conversationId>",
    summary="Turn automatic replies off (an agent takes over) or on again",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, 404, *JSON_BODY, *KEYED),
)
def patch_conversation(conversationId: ConversationId, request: ConversationPatchRequest) -> ConversationOut:
    caller = deps.principal(router, Scope.CONVERSATIONS_MANAGE)
    updated = agents.set_auto_reply(
        caller.account_id,
        conversationId,
        request.autoReply,
        store=deps.conversations(),
        by=caller,
        now=utc_now(),
    )
    return ConversationOut.model_validate(updated.to_public())
