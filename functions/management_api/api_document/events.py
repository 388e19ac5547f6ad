"""The event catalog: what Leadhub POSTs to customers' endpoints, one OpenAPI `webhooks` entry per event
type with its payload schema and signature headers. `tests/integration/test_openapi_document.py` holds it to
the events the code emits and validates real payloads against it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, create_model
from pydantic.json_schema import SkipJsonSchema
from schemas import Schema, absent_when_none
from schemas.conversations import ConversationOut, MessageOut
from schemas.leads import LeadOut

from leadhub.outbound import outbox
from leadhub.outbound.endpoint_verification import VERIFY_EVENT
from leadhub.outbound.signing import LEADHUB_DELIVERY_ID, LEADHUB_EVENT, LEADHUB_SIGNATURE
from leadhub.platform.standard_webhooks import WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP


class LeadUpdatedData(LeadOut):
    changedFields: list[str] = Field(
        description="What changed: phone, name, email, tags and/or customFields (the rest is the lead now)"
    )


class LeadReEngagedData(LeadOut):
    previousActivityAt: str = Field(description="The lead's last activity before this one")
    inactiveDays: int = Field(description="Whole days of silence (30 or more)")
    lastConversationAt: str | None = Field(
        description="When the lead last wrote on a channel before this; null: never"
    )


class MessageStatusData(MessageOut):
    previousStatus: str = Field(description="queued, sent, delivered or read")


class AutomationTriggeredData(Schema):
    automationId: str
    conversationId: str
    leadId: str
    channel: str
    messageId: str = Field(description="Our reply, as sent (see message.sent)")
    inReplyTo: str | None = Field(description="The lead's message it answers")


class EndpointDisabledData(Schema):
    endpointId: str
    name: str
    url: str
    reason: str = Field(description="Why Leadhub disabled it: it answered 410, or kept failing for 72 hours")
    disabledAt: str


class VerifyHandshake(Schema):
    """Not an envelope: the body of the verification handshake."""

    event: Literal[VERIFY_EVENT]  # type: ignore[valid-type]  # a checker takes only literal values here
    verifyToken: str = Field(
        description='`echo` mode: answer 2xx with `{"verifyToken": …}` or the bare token'
    )
    timestamp: str
    text: str = Field(description="A one-line notice, for chat webhooks that refuse a message without text")


class EventEnvelope(Schema):
    id: str = Field(description="evt_…: names the event; the same in every delivery and retry of it")
    timestamp: str = Field(description="When it happened (ISO 8601, UTC)")
    accountId: str = Field(
        description="The account it happened in (an agency's endpoints also get its managed accounts' events)"
    )
    test: bool | SkipJsonSchema[None] = Field(
        default=None,
        json_schema_extra=absent_when_none,
        description="Only in `POST /api/webhook-endpoints/{id}/test` sends: true",
    )


# event type -> (its `data`, when it is sent)
CATALOG: dict[str, tuple[type[BaseModel], str]] = {
    outbox.LEAD_CREATED: (LeadOut, "A new lead: posted to the lead webhook, or someone's first message"),
    outbox.LEAD_UPDATED: (LeadUpdatedData, "A lead's phone, name, email, tags or custom fields changed"),
    outbox.LEAD_RE_ENGAGED: (LeadReEngagedData, "A lead was active again after 30 days or more of silence"),
    outbox.CONVERSATION_CREATED: (ConversationOut, "A lead started a conversation on a channel"),
    outbox.MESSAGE_RECEIVED: (MessageOut, "A lead's message was stored (an email once its content is)"),
    outbox.MESSAGE_SENT: (MessageOut, "The provider accepted our message (an automation's or an agent's)"),
    outbox.MESSAGE_STATUS: (MessageStatusData, "One of our messages was delivered or read, or failed"),
    outbox.AUTOMATION_TRIGGERED: (AutomationTriggeredData, "An automation answered, and its reply was sent"),
    outbox.CONVERSATION_CLOSED: (ConversationOut, "A conversation was closed"),
    outbox.ENDPOINT_DISABLED: (
        EndpointDisabledData,
        "Leadhub disabled another of the account's endpoints (not one disabled through the API)",
    ),
}


def _model_name(event: str) -> str:
    return "".join(part.capitalize() for part in event.replace("_", ".").split(".")) + "Event"


ENVELOPES: dict[str, type[BaseModel]] = {
    event: create_model(
        _model_name(event),
        __base__=EventEnvelope,
        __doc__=summary,
        event=(Literal[event], ...),  # type: ignore[arg-type]  # each event's Literal, made at run time
        data=(data, ...),
    )
    for event, (data, summary) in CATALOG.items()
}
MODELS: list[type[BaseModel]] = [VerifyHandshake, *ENVELOPES.values()]

SIGNATURE_HEADERS: list[dict[str, Any]] = [
    {
        "name": WEBHOOK_ID,
        "description": "The delivery's id: the same in every retry of it, so deduplicate on it",
    },
    {"name": WEBHOOK_TIMESTAMP, "description": "Unix seconds of this attempt; refuse ones minutes away"},
    {
        "name": WEBHOOK_SIGNATURE,
        "description": "Standard Webhooks: `v1,<base64 HMAC-SHA256 of "
        "{webhook-id}.{webhook-timestamp}.{body}>`, space-separated, one per valid secret (two while a "
        "rotated secret overlaps)",
    },
    {
        "name": LEADHUB_SIGNATURE,
        "description": "`sha256=<hex HMAC-SHA256 of the raw body, keyed by the newest secret string>`",
    },
    {"name": LEADHUB_EVENT, "description": "The event type"},
    {"name": LEADHUB_DELIVERY_ID, "description": "The same as webhook-id"},
]
_DELIVERED = {
    "2XX": {"description": "Delivered"},
    "410": {"description": "Gone: Leadhub disables the endpoint and announces endpoint.disabled"},
    "default": {
        "description": "Anything else (3xx too: redirects are never followed; timeouts) is retried on the "
        "deployment's schedule, honouring Retry-After; after the last attempt the delivery is failed "
        "(recover it through the API)"
    },
}
_VERIFIED = {
    "2XX": {"description": "`ping` mode: verified. `echo` mode: verified if the body echoes the verifyToken"},
    "default": {"description": "Not verified: the endpoint receives nothing until a verify succeeds"},
}


def _headers(event: str) -> list[dict[str, Any]]:
    return [
        {
            **header,
            "in": "header",
            "required": True,
            "schema": {"const": event} if header["name"] == LEADHUB_EVENT else {"type": "string"},
        }
        for header in SIGNATURE_HEADERS
    ]


def _body(model: type[BaseModel]) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def webhooks() -> dict[str, dict[str, Any]]:
    """One entry per event type: the POST Leadhub sends for it."""
    entries = {
        VERIFY_EVENT: {
            "post": {
                "tags": ["Events"],
                "summary": "The verification handshake",
                "description": "Sent on create, on `POST …/verify`, and when the URL or verification mode "
                "changes; signed like every delivery. Until it succeeds the endpoint receives no events.",
                "operationId": "event_webhook_verify",
                "parameters": _headers(VERIFY_EVENT),
                "requestBody": _body(VerifyHandshake),
                "responses": _VERIFIED,
            }
        }
    }
    for event, (_, summary) in CATALOG.items():
        entries[event] = {
            "post": {
                "tags": ["Events"],
                "summary": summary,
                "description": f"`{event}`: the envelope, with the event's `data`; an endpoint with a "
                "payload template receives the rendered template instead.",
                "operationId": "event_" + event.replace(".", "_"),
                "parameters": _headers(event),
                "requestBody": _body(ENVELOPES[event]),
                "responses": _DELIVERED,
            }
        }
    return entries
