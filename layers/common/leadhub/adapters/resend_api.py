"""Resend's API: received emails (content of inbound mail) and domains (sending and receiving setup).
The API key is a deployment secret (SSM); the base URL a setting, so tests use a loopback fake."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from leadhub.adapters.provider_api import ProviderAnswer, ProviderApi
from leadhub.domain.email_integration import ResendRefused
from leadhub.errors import ProviderUnavailable, SecretNotConfigured
from leadhub.ports import SecretSource


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
        return self._expect_ok(self._call("POST", "/domains", json={"name": name}))

    def find_domain(self, name: str) -> dict[str, Any] | None:
        """The domain registered under `name` (as Resend lists it: no DNS records), or None."""
        listed = self._expect_ok(self._call("GET", "/domains")).get("data") or []
        return next((d for d in listed if isinstance(d, dict) and d.get("name") == name), None)

    def verify_domain(self, domain_id: str) -> None:
        self._expect_ok(self._call("POST", f"/domains/{quote(domain_id, safe='')}/verify"))

    def get_domain(self, domain_id: str) -> dict[str, Any]:
        return self._expect_ok(self._call("GET", f"/domains/{quote(domain_id, safe='')}"))

    def send_email(self, payload: dict[str, Any], idempotency_key: str) -> ProviderAnswer:
        """POST /emails; a repeated key gets the first send's answer. Returned as it came."""
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
        if not answer.ok:
            raise ResendRefused(resend_message(answer))
        return answer.body


def resend_message(answer: ProviderAnswer) -> str:
    message = answer.body.get("message")
    return str(message)[:300] if message else f"HTTP {answer.status}"
