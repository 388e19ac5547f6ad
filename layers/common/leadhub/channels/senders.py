"""Sending a text through a conversation's channel: each channel's sender (channels/<channel>/adapters),
picked by the conversation's channel. A provider that could not be reached is a refusal that may pass."""

from __future__ import annotations

from collections.abc import Mapping

from leadhub.conversations.models import Channel, Conversation, Message
from leadhub.conversations.ports import ChannelSender
from leadhub.conversations.replies import SendRejected
from leadhub.platform.errors import ProviderUnavailable


class ChannelSenders:
    def __init__(self, senders: Mapping[Channel, ChannelSender]) -> None:
        self._senders = dict(senders)

    def send_text(
        self, conversation: Conversation, text: str, reply_to: Message | None, idempotency_key: str
    ) -> str:
        try:
            return self._senders[conversation.channel].send_text(
                conversation, text, reply_to, idempotency_key
            )
        except ProviderUnavailable as exc:
            raise SendRejected(exc.message, permanent=False) from None
