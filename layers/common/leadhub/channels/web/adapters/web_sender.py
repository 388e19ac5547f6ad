"""Sending on the website widget: nothing to call, the visitor's widget polls for our messages."""

from __future__ import annotations

from leadhub.conversations.models import Conversation, Message


class WebSender:
    def send_text(self, _conversation: Conversation, _text: str, _reply_to: Message | None, key: str) -> str:
        """Marked sent, the message is what the widget shows."""
        return f"web:{key}"
