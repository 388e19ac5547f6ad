"""Sending a WhatsApp text through the Graph API; Meta's refusals become SendRejected, permanent or not."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadhub.channels.credentials import IntegrationCredentials
from leadhub.channels.whatsapp.adapters.graph_api import GraphApi, graph_error
from leadhub.conversations.models import Conversation, Message
from leadhub.conversations.replies import SendRejected

# Graph API error codes worth retrying: rate limits and Meta's own transient failures. Every other
# refusal (131047: the 24-hour window is closed, 131026: undeliverable, 190: token expired …) is final.
_WHATSAPP_TRANSIENT = frozenset({1, 2, 4, 80007, 130429, 131000, 131048, 131056})


def whatsapp_recipient(route: Mapping[str, str]) -> dict[str, str]:
    """Who a WhatsApp message goes to: `to` takes a phone number only; a user known only by their
    business-scoped user id (BSUID) is addressed by `recipient` (Meta's Business-scoped user IDs page).
    Conversations stored before BSUIDs had their own field may hold one in `waId`."""
    phone = route.get("waId", "")
    if phone.isdigit():
        return {"to": phone}
    return {"recipient": route.get("userId") or phone}


class WhatsAppSender:
    def __init__(self, graph: GraphApi, credentials: IntegrationCredentials) -> None:
        self._graph = graph
        self._credentials = credentials

    def send_text(self, conversation: Conversation, text: str, reply_to: Message | None, _key: str) -> str:
        integration, token = self._credentials.credential(conversation)
        phone_number_id = conversation.route.get("phoneNumberId") or integration.route_key
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            **whatsapp_recipient(conversation.route),
            "type": "text",
            "text": {"body": text},
        }
        if reply_to is not None:
            payload["context"] = {"message_id": reply_to.provider_message_id}  # shown as a quote
        answer = self._graph.send_message(phone_number_id, token, payload)
        if answer.ok:
            messages = answer.body.get("messages")
            if isinstance(messages, list) and messages and isinstance(messages[0], dict):
                return str(messages[0].get("id"))
            raise SendRejected("The Graph API accepted the message but returned no id", permanent=False)
        code, message = graph_error(answer)
        reason = f"WhatsApp {code}: {message}"
        raise SendRejected(reason, permanent=answer.status != 429 and code not in _WHATSAPP_TRANSIENT)
