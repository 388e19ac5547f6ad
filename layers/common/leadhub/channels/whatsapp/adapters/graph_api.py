"""The parts of Meta's Graph API that connecting a WhatsApp number needs."""

from __future__ import annotations

from typing import Any

from leadhub.channels.adapters.provider_api import ProviderAnswer, ProviderApi
from leadhub.channels.whatsapp.integration import GraphRefused


class GraphApi:
    def __init__(self, base_url: str) -> None:
        self._api = ProviderApi("The Graph API", base_url)

    def phone_numbers(self, waba_id: str, access_token: str) -> list[dict[str, Any]]:
        """The business account's phone numbers (id, display_phone_number, verified_name)."""
        answer = self._api.call(
            "GET",
            f"/{waba_id}/phone_numbers",
            params={"fields": "id,display_phone_number,verified_name"},
            headers=_bearer(access_token),
        )
        if not answer.ok:
            raise GraphRefused(graph_error(answer)[1])
        data = answer.body.get("data")
        return [n for n in data if isinstance(n, dict)] if isinstance(data, list) else []

    def subscribe_app(self, waba_id: str, access_token: str) -> None:
        """Subscribe our app to the business account's webhooks (idempotent on Meta's side)."""
        answer = self._api.call("POST", f"/{waba_id}/subscribed_apps", headers=_bearer(access_token))
        if not answer.ok or answer.body.get("success") is False:
            raise GraphRefused(graph_error(answer)[1])

    def send_message(
        self, phone_number_id: str, access_token: str, payload: dict[str, Any]
    ) -> ProviderAnswer:
        """POST /{phone-number-id}/messages; the answer as it came (the caller judges refusals)."""
        return self._api.call(
            "POST", f"/{phone_number_id}/messages", json=payload, headers=_bearer(access_token)
        )


def graph_error(answer: ProviderAnswer) -> tuple[int | None, str]:
    """Meta's error code and message of a refused request, with `error_data.details` (the explanation
    Meta recommends showing) when given: {"error": {"message", "type", "code", "error_subcode",
    "error_data": {"messaging_product", "details"}, "fbtrace_id"}}."""
    error = answer.body.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        code = error.get("code")
        data = error.get("error_data")
        details = data.get("details") if isinstance(data, dict) else None
        message = error["message"][:300]
        if isinstance(details, str) and details and details != error["message"]:
            message = f"{message} ({details[:500]})"
        return (code if isinstance(code, int) else None), message
    return None, f"HTTP {answer.status}"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
