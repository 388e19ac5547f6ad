"""The Telegram Bot API calls that connecting a bot needs. The bot token is part of every URL: it is
never logged (ProviderApi's errors name no path)."""

from __future__ import annotations

from typing import Any

from leadhub.channels.adapters.provider_api import ProviderAnswer, ProviderApi
from leadhub.channels.telegram.integration import TelegramRefused


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

    def send_message(self, bot_token: str, payload: dict[str, Any]) -> ProviderAnswer:
        """sendMessage; the answer as it came (the caller judges refusals and `retry_after`)."""
        return self._post(bot_token, "sendMessage", payload)

    def _call(self, bot_token: str, method: str, payload: dict[str, Any] | None) -> Any:
        answer = self._post(bot_token, method, payload)
        if answer.body.get("ok") is not True:
            raise TelegramRefused(telegram_description(answer))
        return answer.body.get("result")

    def _post(self, bot_token: str, method: str, payload: dict[str, Any] | None) -> ProviderAnswer:
        if not bot_token or "/" in bot_token:
            raise TelegramRefused("Not Found")  # would change the URL's path: never send it
        return self._api.call("POST", f"/bot{bot_token}/{method}", json=payload)


def telegram_description(answer: ProviderAnswer) -> str:
    description = answer.body.get("description")
    return str(description)[:300] if description else f"HTTP {answer.status}"
