"""Resend's API: received emails (content of inbound mail) and domains (sending and receiving setup).
The API key is a deployment secret (SSM); the base URL a setting, so tests use a loopback fake.

Errors come as `{"statusCode", "name", "message"}` (Resend's API reference, "Errors"); which of them pass
with time is decided here, once, for every Resend call."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from leadhub.adapters.provider_api import ProviderAnswer, ProviderApi
from leadhub.domain.email_integration import ResendRefused
from leadhub.errors import ProviderUnavailable, SecretNotConfigured
from leadhub.ports import SecretSource

# Leadhub sends replies from the domain and receives the mail written to it. Resend creates a domain with
# receiving disabled (and so without the receiving MX record) unless asked for it.
SENDING_AND_RECEIVING = {"sending": "enabled", "receiving": "enabled"}


class ResendApi:
    def __init__(self, base_url: str, api_key: SecretSource) -> None:
        self._api = ProviderApi("The Resend API", base_url)
        self._key = api_key

    def get(self, email_id: str) -> dict[str, Any] | None:
        """A received email, or None when Resend does not know it (404)."""
        answer = self._call("GET", f"/emails/receiving/{quote(email_id, safe='')}")
        if answer.status == 404:
            return None
        if not answer.ok:
            raise ProviderUnavailable(f"The Resend API refused to return the email: {resend_message(answer)}")
        return answer.body

    def create_domain(self, name: str) -> dict[str, Any]:
        body = {"name": name, "capabilities": SENDING_AND_RECEIVING}
        return self._expect_ok(self._call("POST", "/domains", json=body))

    def find_domain(self, name: str) -> dict[str, Any] | None:
        """The domain registered under `name` (as Resend lists it: no DNS records), or None. Without a
        `limit`, Resend lists every domain at once."""
        listed = self._expect_ok(self._call("GET", "/domains")).get("data") or []
        return next((d for d in listed if isinstance(d, dict) and d.get("name") == name), None)

    def enable_sending_and_receiving(self, domain_id: str) -> None:
        body = {"capabilities": SENDING_AND_RECEIVING}
        self._expect_ok(self._call("PATCH", f"/domains/{quote(domain_id, safe='')}", json=body))

    def verify_domain(self, domain_id: str) -> None:
        """Asks Resend to check the records; it does so asynchronously (the domain is `pending` then)."""
        self._expect_ok(self._call("POST", f"/domains/{quote(domain_id, safe='')}/verify"))

    def get_domain(self, domain_id: str) -> dict[str, Any]:
        return self._expect_ok(self._call("GET", f"/domains/{quote(domain_id, safe='')}"))

    def send_email(self, payload: dict[str, Any], idempotency_key: str) -> ProviderAnswer:
        """POST /emails; a repeated key with the same payload gets the first send's answer. Returned as it
        came."""
        return self._call("POST", "/emails", json=payload, headers={"Idempotency-Key": idempotency_key})

    def _call(
        self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> ProviderAnswer:
        key = self._key.value()
        if not key:
            raise SecretNotConfigured("The Resend API key is not configured")
        headers = {"Authorization": f"Bearer {key}", **(headers or {})}
        return self._api.call(method, path, json=json, headers=headers)

    @staticmethod
    def _expect_ok(answer: ProviderAnswer) -> dict[str, Any]:
        if answer.ok:
            return answer.body
        if resend_refusal_passes(answer):
            wait = resend_message(answer)
            raise ProviderUnavailable(f"The Resend API asked to wait ({wait}); try again later")
        raise ResendRefused(resend_message(answer), status=answer.status)


def resend_refusal_passes(answer: ProviderAnswer) -> bool:
    """Whether the same request may succeed later: 429 (`rate_limit_exceeded`, and the daily or monthly
    quota, which reset) and 409 `concurrent_idempotent_requests` (the first request with that
    Idempotency-Key is still in progress: retry with the same key). Every other refusal is final: 409
    `invalid_idempotent_request` (the key was used with another payload), 422 validation errors, 400,
    401/403 (the API key), 404, 451."""
    return answer.status == 429 or (
        answer.status == 409 and answer.body.get("name") == "concurrent_idempotent_requests"
    )


def resend_message(answer: ProviderAnswer) -> str:
    message = answer.body.get("message")
    name = answer.body.get("name")
    prefix = f"{str(name)[:60]}: " if isinstance(name, str) and name else ""
    return prefix + (str(message)[:300] if message else f"HTTP {answer.status}")
