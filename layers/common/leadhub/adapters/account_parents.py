"""Which agency manages an account, cached briefly (an account's parent never changes)."""

from __future__ import annotations

from leadhub.platform.ttl_cache import TtlCache
from leadhub.ports import AccountRepository

PARENT_CACHE_SECONDS = 300


class CachedParents:
    def __init__(self, accounts: AccountRepository) -> None:
        self._accounts = accounts
        self._cache: TtlCache[str, str | None] = TtlCache(PARENT_CACHE_SECONDS)

    def parent_of(self, account_id: str) -> str | None:
        return self._cache.get_or_load(account_id, self._load)

    def _load(self, account_id: str) -> str | None:
        account = self._accounts.get_account(account_id)
        return account.parent_account_id if account else None
