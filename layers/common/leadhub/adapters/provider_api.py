"""JSON calls to the messaging providers' APIs (Graph API, Telegram Bot API, Resend). The base URL is a
setting, so tests and the local stack point it at loopback fakes. One connection pool per execution
environment; secrets in paths or headers are never logged.

urllib3, which botocore already loads, rather than httpx: importing httpx and creating its client (which
builds a TLS context at once) cost ~90 ms of the cold start of every function that calls a provider.
urllib3 builds the TLS context (system CA store) on the first HTTPS connection."""

from __future__ import annotations

import json as json_module
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import urllib3

from leadhub.errors import ProviderUnavailable
from leadhub.provider_json import NotJson, read_provider_json

PROVIDER_TIMEOUT_SECONDS = 10.0
_pools: urllib3.PoolManager | None = None


def _pool_manager() -> urllib3.PoolManager:
    global _pools
    if _pools is None:
        # Neither retried nor redirected here: a provider's 3xx is an answer, and retries belong to the
        # queue's backoff. PoolManager never reads proxy settings from the environment.
        _pools = urllib3.PoolManager(retries=False, maxsize=10)
    return _pools


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
        self._timeout = urllib3.Timeout(connect=timeout, read=timeout)

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
        url = f"{self._base}{path}" + (f"?{urlencode(params)}" if params else "")
        request_headers = dict(headers or {})
        body = None
        if json is not None:
            body = json_module.dumps(json, separators=(",", ":")).encode()
            request_headers["Content-Type"] = "application/json"
        try:
            response = _pool_manager().request(
                method, url, body=body, headers=request_headers, timeout=self._timeout, redirect=False
            )
        except urllib3.exceptions.HTTPError as exc:
            raise ProviderUnavailable(f"{self._name} could not be reached ({type(exc).__name__})") from None
        if response.status >= 500:
            raise ProviderUnavailable(f"{self._name} answered HTTP {response.status}; try again later")
        try:  # read as the providers' webhooks are (provider_json): exact numbers, no lone surrogates
            answer = read_provider_json(response.data)
        except NotJson:
            answer = None
        return ProviderAnswer(response.status, answer if isinstance(answer, dict) else {})
