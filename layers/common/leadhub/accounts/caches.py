"""What warm environments remember about accounts: who owns a webhook token (hits and misses, for at most
the lead webhook's TOKEN_CACHE_SECONDS, so a rotated token stops working within that time) and which
agency manages an account (it never changes)."""

from __future__ import annotations

from leadhub.accounts.models import TokenOwner
from leadhub.accounts.ports import AccountRepository, TokenOwners
from leadhub.platform.ttl_cache import TtlCache

PARENT_CACHE_SECONDS = 300


class CachedTokenOwners:
    def __init__(self, inner: TokenOwners, ttl_seconds: float) -> None:
        self._inner = inner
        self._cache: TtlCache[str, TokenOwner | None] = TtlCache(ttl_seconds)

    def find_token_owner(self, token_hash: str) -> TokenOwner | None:
        return self._cache.get_or_load(token_hash, self._inner.find_token_owner)


class CachedParents:
    def __init__(self, accounts: AccountRepository) -> None:
        self._accounts = accounts
        self._cache: TtlCache[str, str | None] = TtlCache(PARENT_CACHE_SECONDS)

    def parent_of(self, account_id: str) -> str | None:
        return self._cache.get_or_load(account_id, self._load)

    def _load(self, account_id: str) -> str | None:
        account = self._accounts.get_account(account_id)
        return account.parent_account_id if account else None
