"""The Telegram channel's port: the Bot API calls that connecting a bot needs."""

from __future__ import annotations

from typing import Any, Protocol


class TelegramBotApiPort(Protocol):
    def get_me(self, bot_token: str) -> dict[str, Any]: ...

    def set_webhook(
        self, bot_token: str, url: str, secret_token: str, allowed_updates: tuple[str, ...]
    ) -> None: ...

    def delete_webhook(self, bot_token: str) -> None: ...
