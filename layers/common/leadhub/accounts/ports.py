"""The accounts capability's ports: its storage (accounts, API keys, webhook tokens, audit entries)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from leadhub.accounts.audit import AuditEntry
    from leadhub.accounts.models import Account, ApiKey, TokenOwner
    from leadhub.platform.paging import Page


class TokenOwners(Protocol):
    def find_token_owner(self, token_hash: str) -> TokenOwner | None: ...


class AccountRepository(Protocol):
    def create_account(self, account: Account, first_key: ApiKey, audit: list[AuditEntry]) -> None: ...

    def get_account(self, account_id: str) -> Account | None: ...

    def replace_webhook_token(
        self, account: Account, new_hash: str, new_ciphertext: bytes, audit: AuditEntry
    ) -> bool:
        """Swap the token (lookup entry included) if `account` still holds the token it was read with."""

    def find_api_key(self, key_hash: str) -> ApiKey | None: ...

    def add_api_key(self, key: ApiKey, audit: AuditEntry) -> None: ...

    def list_api_keys(self, account_id: str) -> list[ApiKey]: ...

    def revoke_api_key(self, account_id: str, key_id: str, audit: AuditEntry) -> bool: ...

    def list_audit(self, account_id: str, limit: int, cursor: str | None) -> Page[AuditEntry]:
        """Newest first."""
