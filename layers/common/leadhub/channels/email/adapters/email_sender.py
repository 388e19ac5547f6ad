"""Sending an email reply through Resend, threaded under the message it answers; refusals become
SendRejected. Retries carry the same Idempotency-Key (the message id): Resend sends the message once."""

from __future__ import annotations

from email.headerregistry import Address
from typing import Any

from leadhub.channels.credentials import IntegrationCredentials
from leadhub.channels.email.adapters.resend_api import ResendApi, resend_message, resend_refusal_passes
from leadhub.conversations.models import Conversation, Message
from leadhub.conversations.replies import SendRejected


class EmailSender:
    def __init__(self, resend: ResendApi, credentials: IntegrationCredentials, receiving_domain: str) -> None:
        self._resend = resend
        self._credentials = credentials
        self._receiving_domain = receiving_domain

    def send_text(self, conversation: Conversation, text: str, reply_to: Message | None, key: str) -> str:
        settings = self._credentials.integration(conversation).settings
        content = reply_to.content if reply_to is not None else {}
        subject = str(content.get("subject") or "")
        payload: dict[str, Any] = {
            "from": from_header(settings.get("emailFromName", ""), settings["emailFromAddress"]),
            "to": [conversation.route["address"]],
            "subject": subject if subject.lower().startswith("re:") else f"Re: {subject}".strip(),
            "text": text,
        }
        if self._receiving_domain:
            payload["reply_to"] = f"reply+{conversation.conversation_id}@{self._receiving_domain}"
        thread = content.get("messageId")
        if thread:
            references = content.get("references")
            payload["headers"] = {
                "In-Reply-To": str(thread),
                "References": f"{references} {thread}".strip() if references else str(thread),
            }
        answer = self._resend.send_email(payload, idempotency_key=key)
        if answer.ok and answer.body.get("id"):
            return str(answer.body["id"])
        reason = f"Resend {answer.status} {resend_message(answer)}"
        raise SendRejected(reason, permanent=not (answer.ok or resend_refusal_passes(answer)))


def from_header(display_name: str, address: str) -> str:
    """`Name <address>` as RFC 5322 has it: a name with specials (`Acme, Inc.`) quoted, quotes and
    backslashes in it escaped; non-ASCII names kept as UTF-8 (RFC 6532), which Resend encodes."""
    username, _, domain = address.rpartition("@")
    return str(Address(display_name=display_name.strip(), username=username, domain=domain))
