"""Sending a text through a conversation's channel: WhatsApp (Graph API), Telegram (sendMessage), email
(Resend) and the website widget (nothing to call: the widget polls). Provider refusals become
SendRejected, permanent or retryable."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from email.headerregistry import Address
from typing import Any

from leadhub.adapters.graph_api import GraphApi, graph_error
from leadhub.adapters.resend_api import ResendApi, resend_message, resend_refusal_passes
from leadhub.adapters.telegram_bot_api import TelegramBotApi, telegram_description
from leadhub.domain.integrations import IntegrationStore
from leadhub.domain.replies import SendRejected
from leadhub.domain.telegram_integration import TelegramRefused
from leadhub.errors import ProviderUnavailable
from leadhub.models.conversation import Channel, Conversation, Message
from leadhub.models.integration import Integration, credential_context
from leadhub.ports import SecretCipher
from leadhub.ttl_cache import TtlCache

# Graph API error codes worth retrying: rate limits and Meta's own transient failures. Every other
# refusal (131047: the 24-hour window is closed, 131026: undeliverable, 190: token expired …) is final.
_WHATSAPP_TRANSIENT = frozenset({1, 2, 4, 80007, 130429, 131000, 131048, 131056})
CREDENTIAL_CACHE_SECONDS = 60


def whatsapp_recipient(route: Mapping[str, str]) -> dict[str, str]:
    """Who a WhatsApp message goes to: `to` takes a phone number only; a user known only by their
    business-scoped user id (BSUID) is addressed by `recipient` (Meta's Business-scoped user IDs page).
    Conversations stored before BSUIDs had their own field may hold one in `waId`."""
    phone = route.get("waId", "")
    if phone.isdigit():
        return {"to": phone}
    return {"recipient": route.get("userId") or phone}


class ChannelSenders:
    def __init__(
        self,
        *,
        integrations: IntegrationStore,
        cipher: SecretCipher,
        graph: GraphApi,
        telegram: TelegramBotApi,
        resend: ResendApi,
        receiving_domain: str,
    ) -> None:
        self._integrations = integrations
        self._cipher = cipher
        self._graph = graph
        self._telegram = telegram
        self._resend = resend
        self._receiving_domain = receiving_domain
        self._credentials: TtlCache[tuple[str, Channel], tuple[Integration, str]] = TtlCache(
            CREDENTIAL_CACHE_SECONDS
        )
        self._senders: dict[Channel, Callable[[Conversation, str, Message | None, str], str]] = {
            Channel.WHATSAPP: self._whatsapp,
            Channel.TELEGRAM: self._telegram_message,
            Channel.EMAIL: self._email,
            Channel.WEB: self._web,
        }

    def send_text(
        self, conversation: Conversation, text: str, reply_to: Message, idempotency_key: str
    ) -> str:
        try:
            return self._senders[conversation.channel](conversation, text, reply_to, idempotency_key)
        except ProviderUnavailable as exc:
            raise SendRejected(exc.message, permanent=False) from None

    # -- the channels ----------------------------------------------------------------------------

    def _whatsapp(self, conversation: Conversation, text: str, reply_to: Message | None, _key: str) -> str:
        integration, token = self._credential(conversation)
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

    def _telegram_message(
        self, conversation: Conversation, text: str, reply_to: Message | None, _key: str
    ) -> str:
        _, token = self._credential(conversation)
        bot_id, chat_id = conversation.route["botId"], conversation.route["chatId"]
        payload: dict[str, Any] = {"chat_id": int(chat_id), "text": text}
        replied_id = reply_to.provider_message_id.rpartition(":")[2] if reply_to else ""
        if replied_id.isdigit():  # a message, not a button press
            payload["reply_parameters"] = {"message_id": int(replied_id), "allow_sending_without_reply": True}
        try:
            answer = self._telegram.send_message(token, payload)
        except TelegramRefused as refused:
            raise SendRejected(f"Telegram: {refused}", permanent=True) from None
        if answer.body.get("ok") is True and isinstance(answer.body.get("result"), dict):
            return f"{bot_id}:{chat_id}:{answer.body['result'].get('message_id')}"
        description = telegram_description(answer)
        if answer.status == 429:
            parameters = (
                answer.body.get("parameters") if isinstance(answer.body.get("parameters"), dict) else {}
            )
            retry_after = parameters.get("retry_after")
            raise SendRejected(
                f"Telegram: {description}",
                permanent=False,
                retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
            )
        # 403: the user blocked the bot (or is gone): nothing reaches them until they write again.
        # 400: the chat is gone or the text is refused. Retrying cannot help either way.
        raise SendRejected(f"Telegram: {description}", permanent=True, unreachable=answer.status == 403)

    def _email(self, conversation: Conversation, text: str, reply_to: Message | None, key: str) -> str:
        settings = self._integration(conversation).settings
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
        # Retries carry the same Idempotency-Key (the message id): Resend sends the message once.
        reason = f"Resend {answer.status} {resend_message(answer)}"
        raise SendRejected(reason, permanent=not (answer.ok or resend_refusal_passes(answer)))

    @staticmethod
    def _web(_conversation: Conversation, _text: str, _reply_to: Message | None, key: str) -> str:
        """The visitor's widget polls for our messages: marked sent, the message is what it shows."""
        return f"web:{key}"

    # -- credentials ---------------------------------------------------------------------------------

    def _integration(self, conversation: Conversation) -> Integration:
        found = self._integrations.get(conversation.account_id, conversation.channel)
        if found is None:
            raise SendRejected(f"No {conversation.channel.value} integration is connected", permanent=True)
        return found

    def _credential(self, conversation: Conversation) -> tuple[Integration, str]:
        """The integration and its decrypted credential, reused for a minute by a warm worker."""

        def load(key: tuple[str, Channel]) -> tuple[Integration, str]:
            integration = self._integration(conversation)
            context = credential_context(conversation.account_id, conversation.channel)
            return integration, self._cipher.decrypt(integration.credential, context)

        return self._credentials.get_or_load((conversation.account_id, conversation.channel), load)


def from_header(display_name: str, address: str) -> str:
    """`Name <address>` as RFC 5322 has it: a name with specials (`Acme, Inc.`) quoted, quotes and
    backslashes in it escaped; non-ASCII names kept as UTF-8 (RFC 6532), which Resend encodes."""
    username, _, domain = address.rpartition("@")
    return str(Address(display_name=display_name.strip(), username=username, domain=domain))
