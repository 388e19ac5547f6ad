"""JSON calls to the messaging providers' APIs (Graph API, Telegram Bot API, Resend). The base URL is a
setting, so tests and the local stack point it at loopback fakes. One pooled client per execution
environment; secrets in paths or headers are never logged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from leadhub.errors import ProviderUnavailable

PROVIDER_TIMEOUT_SECONDS = 10.0
_clients: dict[float, httpx.Client] = {}


def _client(timeout: float) -> httpx.Client:
    found = _clients.get(timeout)
    if found is None:
        found = _clients[timeout] = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)
    return found


@dataclass(frozen=True, slots=True)
class ProviderAnswer:
    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class ProviderApi:
    def __init__(self, name: str, base_url: str, timeout: float = PROVIDER_TIMEOUT_SECONDS) -> None:
        self._name = name
        self._base = base_url.rstrip("/")
        self._timeout = timeout

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ProviderAnswer:
        """The answer to a request the provider handled (2xx or 4xx, JSON body or {}); ProviderUnavailable
        when it could not be reached or failed itself (5xx)."""
        try:
            response = _client(self._timeout).request(
                method, f"{self._base}{path}", json=json, params=params, headers=headers
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{self._name} could not be reached ({type(exc).__name__})") from None
        if response.status_code >= 500:
            raise ProviderUnavailable(f"{self._name} answered HTTP {response.status_code}; try again later")
        try:
            body = response.json()
        except ValueError:
            body = None
        return ProviderAnswer(response.status_code, body if isinstance(body, dict) else {})
