"""The Telegram Bot API calls that connecting a bot needs. The bot token is part of every URL: it is
never logged (ProviderApi's errors name no path)."""

from __future__ import annotations

from typing import Any

from leadhub.adapters.provider_api import ProviderApi
from leadhub.domain.telegram_integration import TelegramRefused


class TelegramBotApi:
    def __init__(self, base_url: str) -> None:
        self._api = ProviderApi("The Telegram Bot API", base_url)

    def get_me(self, bot_token: str) -> dict[str, Any]:
        result = self._call(bot_token, "getMe", None)
        return result if isinstance(result, dict) else {}

    def set_webhook(
        self, bot_token: str, url: str, secret_token: str, allowed_updates: tuple[str, ...]
    ) -> None:
        payload = {"url": url, "secret_token": secret_token, "allowed_updates": list(allowed_updates)}
        self._call(bot_token, "setWebhook", payload)

    def delete_webhook(self, bot_token: str) -> None:
        self._call(bot_token, "deleteWebhook", {})

    def _call(self, bot_token: str, method: str, payload: dict[str, Any] | None) -> Any:
        if not bot_token or "/" in bot_token:
            raise TelegramRefused("Not Found")  # would change the URL's path: never send it
        answer = self._api.call("POST", f"/bot{bot_token}/{method}", json=payload)
        if answer.body.get("ok") is not True:
            description = answer.body.get("description")
            raise TelegramRefused(str(description)[:300] if description else f"HTTP {answer.status}")
        return answer.body.get("result")
