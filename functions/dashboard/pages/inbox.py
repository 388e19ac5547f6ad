"""The inbox (/inbox): conversations, newest activity first; a conversation's thread (/inbox/{id}) where
an agent writes, takes over from the automatic replies and closes it (leadhub.conversations.agent_actions,
as the API's routes). The list and the thread have a fragment of their own (…/live) that the page polls
for news: it answers 304 while nothing changed (ETag), so a visible page costs one small read every few
seconds."""

from __future__ import annotations

from typing import Any

import wiring
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from leadhub.accounts.models import Scope
from leadhub.conversations import agent_actions as agents
from leadhub.conversations.adapters.dynamodb_conversations import DynamoConversationStore
from leadhub.dashboard import inbox as inbox_pages
from leadhub.dashboard.adapters.dynamodb_lead_activity import DynamoLeadActivity
from leadhub.dashboard.http import HTML, page, query_cursor, redirect, validated
from leadhub.dashboard.navigation import INBOX
from leadhub.dashboard.visit import Visit
from leadhub.platform.adapters.sqs_queues import SqsJsonQueue
from leadhub.platform.errors import Conflict, FieldError, InvalidRequest
from leadhub.platform.timestamps import utc_now

router = Router()
store = DynamoConversationStore(wiring.settings.table_name)
activity = DynamoLeadActivity(wiring.settings.table_name)
queue = SqsJsonQueue(wiring.settings.conversation_queue_url)
POLL_SECONDS = 4


def _query(name: str) -> str | None:
    return router.current_event.get_query_string_value(name) or None


def _cursor() -> str | None:
    return query_cursor(router.current_event)


def _inbox(visit: Visit) -> inbox_pages.Inbox:
    status = _query("status") or "open"
    return inbox_pages.inbox(visit.principal.account_id, status, _cursor(), store=store, activity=activity)


def _fragment(template: str, version: str, **context: Any) -> Response[str]:
    """A polled fragment, or 304 when the browser has this version already."""
    etag = f'"{version}"'
    if router.current_event.headers.get("if-none-match") == etag:
        return Response(304, HTML, "", headers={"ETag": etag})
    response = page(200, template, **context)
    response.headers["ETag"] = etag
    return response


@router.get(INBOX.path)
def get_inbox() -> Response[str]:
    visit = wiring.visit(router, INBOX)
    found = _inbox(visit)
    return wiring.show(visit, "inbox.html", "Inbox", inbox=found, cursor=_cursor(), poll_seconds=POLL_SECONDS)


@router.get(f"{INBOX.path}/live")
def get_inbox_live() -> Response[str]:
    visit = wiring.visit(router, INBOX)
    found = _inbox(visit)
    return _fragment("inbox_rows.html", found.version, inbox=found)


def _thread(visit: Visit, conversation_id: str, cursor: str | None = None) -> inbox_pages.Thread:
    return inbox_pages.thread(
        visit.principal.account_id, conversation_id, cursor, store=store, activity=activity
    )


def _thread_page(visit: Visit, conversation_id: str, status: int = 200, **context: object) -> Response[str]:
    found = _thread(visit, conversation_id, _cursor())
    context = {"errors": {}, "draft": "", "done": _query("done"), **context}
    return wiring.show(
        visit,
        "conversation.html",
        f"Conversation with {found.lead_label}",
        status,
        thread=found,
        earlier=_cursor() is not None,
        poll_seconds=POLL_SECONDS,
        **context,
    )


@router.get(f"{INBOX.path}/<conversationId>")
def get_conversation(conversationId: str) -> Response[str]:
    return _thread_page(wiring.visit(router, INBOX), conversationId)


@router.get(f"{INBOX.path}/<conversationId>/live")
def get_thread_live(conversationId: str) -> Response[str]:
    visit = wiring.visit(router, INBOX)
    found = _thread(visit, conversationId)
    return _fragment("thread.html", found.version, thread=found)


@router.post(f"{INBOX.path}/<conversationId>/reply")
def post_reply(conversationId: str) -> Response[str]:
    from leadhub.conversations.request_models import (
        ManualMessageRequest,  # pydantic: only when an agent writes
    )

    visit, form = wiring.change(router, INBOX, Scope.CONVERSATIONS_MANAGE)
    draft = form.get("text")
    try:
        request = validated(ManualMessageRequest, {"text": draft})
        agents.queue_manual_message(
            visit.principal.account_id,
            conversationId,
            request.text,
            store=store,
            queue=queue,
            actor=visit.principal.key_id,
            now=utc_now(),
            by=visit.principal,
        )
    except InvalidRequest as exc:
        errors = {d.field: d.message for d in exc.details}
        return _thread_page(visit, conversationId, 400, errors=errors, draft=draft)
    except Conflict as exc:
        return _thread_page(visit, conversationId, 409, errors={"text": exc.message}, draft=draft)
    return redirect(f"{INBOX.path}/{conversationId}?done=sent#thread-end")


@router.post(f"{INBOX.path}/<conversationId>/auto-reply")
def post_auto_reply(conversationId: str) -> Response[str]:
    visit, form = wiring.change(router, INBOX, Scope.CONVERSATIONS_MANAGE)
    enabled = form.get("autoReply")
    if enabled not in ("on", "off"):
        raise InvalidRequest("Invalid request", [FieldError("autoReply", "on or off")])
    agents.set_auto_reply(
        visit.principal.account_id,
        conversationId,
        enabled == "on",
        store=store,
        by=visit.principal,
        now=utc_now(),
    )
    done = "handed-back" if enabled == "on" else "taken-over"
    return redirect(f"{INBOX.path}/{conversationId}?done={done}")


@router.post(f"{INBOX.path}/<conversationId>/close")
def post_close(conversationId: str) -> Response[str]:
    visit, _ = wiring.change(router, INBOX, Scope.CONVERSATIONS_MANAGE)
    agents.close_conversation(
        visit.principal.account_id, conversationId, store=store, now=utc_now(), by=visit.principal
    )
    return redirect(f"{INBOX.path}/{conversationId}?done=closed")
