"""API keys: authentication, scopes, and the keys' own lifecycle. Keys are stored as hashes only."""

from __future__ import annotations

import hmac
import re
from datetime import datetime

from leadhub.accounts.audit import AuditEntry
from leadhub.accounts.models import ApiKey, Principal
from leadhub.accounts.ports import AccountRepository
from leadhub.platform.errors import FieldError, Forbidden, InvalidRequest, NotFound, Unauthorized
from leadhub.platform.ids import secret_token, sortable_id, token_hash
from leadhub.platform.ports import SecretSource
from leadhub.platform.timestamps import to_iso

API_KEY_PREFIX = "lhk"
_API_KEY_SHAPE = re.compile(r"lhk_[A-Za-z0-9_-]{43}")
_MASK_CHARS = 8


def authenticate(api_key: str | None, *, accounts: AccountRepository) -> Principal:
    if not api_key:
        raise Unauthorized("Missing X-API-Key header")
    key = accounts.find_api_key(token_hash(api_key)) if _API_KEY_SHAPE.fullmatch(api_key) else None
    if key is None:
        raise Unauthorized("Invalid API key")
    return Principal(account_id=key.account_id, key_id=key.key_id, scopes=frozenset(key.scopes))


def require_scope(principal: Principal, scope: str) -> None:
    if scope not in principal.scopes:
        raise Forbidden(f"This API key lacks the '{scope}' scope")


def check_admin_key(presented: str | None, *, source: SecretSource) -> None:
    expected = source.value()
    if not presented or not expected:
        raise Unauthorized("Missing or invalid X-Admin-Key header")
    # Compare digests: constant time, and independent of the keys' lengths.
    if not hmac.compare_digest(token_hash(presented), token_hash(expected)):
        raise Unauthorized("Missing or invalid X-Admin-Key header")


def new_api_key(account_id: str, name: str, scopes: list[str], now: datetime) -> tuple[ApiKey, str]:
    """A key record and the key itself (shown once)."""
    plaintext = secret_token(API_KEY_PREFIX, 32)
    record = ApiKey(
        account_id=account_id,
        key_id=sortable_id("key"),
        name=name,
        scopes=tuple(dict.fromkeys(scopes)),
        prefix=plaintext[:_MASK_CHARS],
        key_hash=token_hash(plaintext),
        created_at=to_iso(now),
    )
    return record, plaintext


def create_api_key(
    principal: Principal, name: str, scopes: list[str], *, accounts: AccountRepository, now: datetime
) -> tuple[ApiKey, str]:
    """A key may grant only scopes its creator holds, so no key can mint a more powerful one."""
    beyond = [s for s in scopes if s not in principal.scopes]
    if beyond:
        raise InvalidRequest(
            "Invalid API key", [FieldError("scopes", f"you cannot grant {', '.join(beyond)}")]
        )
    record, plaintext = new_api_key(principal.account_id, name, scopes, now)
    audit = AuditEntry(
        principal.account_id,
        "api_key.created",
        principal.source,
        record.created_at,
        principal.key_id,
        {"keyId": record.key_id},
    )
    accounts.add_api_key(record, audit)
    return record, plaintext


def list_api_keys(principal: Principal, *, accounts: AccountRepository) -> list[ApiKey]:
    return accounts.list_api_keys(principal.account_id)


def revoke_api_key(principal: Principal, key_id: str, *, accounts: AccountRepository, now: datetime) -> None:
    audit = AuditEntry(
        principal.account_id,
        "api_key.revoked",
        principal.source,
        to_iso(now),
        principal.key_id,
        {"keyId": key_id},
    )
    if not accounts.revoke_api_key(principal.account_id, key_id, audit):
        raise NotFound("API key not found")
