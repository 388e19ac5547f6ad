"""Sending a Telegram text through the Bot API's sendMessage; refusals become SendRejected."""

from __future__ import annotations

from typing import Any

from leadhub.channels.credentials import IntegrationCredentials
from leadhub.channels.telegram.adapters.bot_api import TelegramBotApi, telegram_description
from leadhub.channels.telegram.integration import TelegramRefused
from leadhub.conversations.models import Conversation, Message
from leadhub.conversations.replies import SendRejected
from leadhub.platform.json_input import object_at


class TelegramSender:
    def __init__(self, bot_api: TelegramBotApi, credentials: IntegrationCredentials) -> None:
        self._telegram = bot_api
        self._credentials = credentials

    def send_text(self, conversation: Conversation, text: str, reply_to: Message | None, _key: str) -> str:
        _, token = self._credentials.credential(conversation)
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
            retry_after = object_at(answer.body, "parameters").get("retry_after")
            raise SendRejected(
                f"Telegram: {description}",
                permanent=False,
                retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
            )
        # 403: the user blocked the bot (or is gone): nothing reaches them until they write again.
        # 400: the chat is gone or the text is refused. Retrying cannot help either way.
        raise SendRejected(f"Telegram: {description}", permanent=True, unreachable=answer.status == 403)
