"""Warm environments remember token lookups (hits and misses) for at most TOKEN_CACHE_SECONDS, so a
new lead costs one DynamoDB request and a rotated token stops working within that time."""

from __future__ import annotations

from leadhub.models.account import TokenOwner
from leadhub.platform.ttl_cache import TtlCache
from leadhub.ports import TokenOwners


class CachedTokenOwners:
    def __init__(self, inner: TokenOwners, ttl_seconds: float) -> None:
        self._inner = inner
        self._cache: TtlCache[str, TokenOwner | None] = TtlCache(ttl_seconds)

    def find_token_owner(self, token_hash: str) -> TokenOwner | None:
        return self._cache.get_or_load(token_hash, self._inner.find_token_owner)
