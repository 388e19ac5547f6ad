"""Accounts: creation by the operator, the current account view and webhook token rotation."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from leadhub.accounts.api_keys import new_api_key
from leadhub.accounts.audit import AuditEntry
from leadhub.accounts.models import ALL_SCOPES, Account, Plan, Principal
from leadhub.accounts.ports import AccountRepository
from leadhub.accounts.webhook_tokens import WEBHOOK_TOKEN_PREFIX
from leadhub.platform.errors import Conflict, FieldError, InvalidRequest, NotFound
from leadhub.platform.ids import secret_token, sortable_id, token_hash
from leadhub.platform.ports import SecretCipher
from leadhub.platform.timestamps import to_iso


@dataclass(frozen=True, slots=True)
class AccountView:
    """An account as its owner sees it, webhook token included."""

    account: Account
    webhook_token: str

    def to_public(self, base_url: str) -> dict[str, object]:
        account = self.account
        return {
            "accountId": account.account_id,
            "name": account.name,
            "plan": str(account.plan),
            "defaultRegion": account.default_region,
            "parentAccountId": account.parent_account_id,
            "createdAt": account.created_at,
            "webhookToken": self.webhook_token,
            "webhookUrl": webhook_url(base_url, self.webhook_token),
        }


@dataclass(frozen=True, slots=True)
class CreatedAccount:
    view: AccountView
    api_key: str  # shown once


def webhook_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/api/webhooks/leads/{token}"


def _token_context(account_id: str) -> dict[str, str]:
    return {"accountId": account_id, "purpose": "webhook-token"}


def create_account(
    name: str,
    plan: Plan,
    default_region: str,
    parent_account_id: str | None,
    *,
    accounts: AccountRepository,
    cipher: SecretCipher,
    now: datetime,
) -> CreatedAccount:
    if parent_account_id is not None:
        parent = accounts.get_account(parent_account_id)
        if parent is None:
            raise InvalidRequest("Invalid account", [FieldError("parentAccountId", "no such account")])
        if parent.parent_account_id is not None:
            raise InvalidRequest(
                "Invalid account", [FieldError("parentAccountId", "a managed account cannot manage accounts")]
            )
    account_id = sortable_id("acc")
    token = secret_token(WEBHOOK_TOKEN_PREFIX)
    at = to_iso(now)
    account = Account(
        account_id=account_id,
        name=name,
        plan=plan,
        default_region=default_region,
        created_at=at,
        webhook_token_hash=token_hash(token),
        webhook_token_ciphertext=cipher.encrypt(token, _token_context(account_id)),
        parent_account_id=parent_account_id,
    )
    key, plaintext_key = new_api_key(account_id, "default", [str(s) for s in ALL_SCOPES], now)
    audit = [
        AuditEntry(account_id, "account.created", "admin", at, target={"accountId": account_id}),
        AuditEntry(account_id, "api_key.created", "admin", at, target={"keyId": key.key_id}),
    ]
    accounts.create_account(account, key, audit)
    return CreatedAccount(AccountView(account, token), plaintext_key)


def current_account(
    principal: Principal, *, accounts: AccountRepository, cipher: SecretCipher
) -> AccountView:
    account = accounts.get_account(principal.account_id)
    if account is None:  # the key outlived its account
        raise NotFound("Account not found")
    token = cipher.decrypt(account.webhook_token_ciphertext, _token_context(account.account_id))
    return AccountView(account, token)


def rotate_webhook_token(
    principal: Principal, *, accounts: AccountRepository, cipher: SecretCipher, now: datetime
) -> AccountView:
    """A new token at once; the old one is refused as soon as warm caches expire (≤ 60 s)."""
    account = accounts.get_account(principal.account_id)
    if account is None:
        raise NotFound("Account not found")
    token = secret_token(WEBHOOK_TOKEN_PREFIX)
    ciphertext = cipher.encrypt(token, _token_context(account.account_id))
    audit = AuditEntry(
        account.account_id, "webhook_token.rotated", principal.source, to_iso(now), principal.key_id
    )
    if not accounts.replace_webhook_token(account, token_hash(token), ciphertext, audit):
        raise Conflict("The token was rotated concurrently; read the account again")
    rotated = replace(account, webhook_token_hash=token_hash(token), webhook_token_ciphertext=ciphertext)
    return AccountView(rotated, token)
