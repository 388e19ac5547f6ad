"""Accounts, API keys and the principal a request acts as."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Plan(StrEnum):
    FREE = "free"
    STARTER = "starter"
    PRO = "pro"
    BUSINESS = "business"


class Scope(StrEnum):
    ACCOUNT_VIEW = "account:view"
    ACCOUNT_MANAGE = "account:manage"
    LEADS_READ = "leads:read"
    WEBHOOKS_MANAGE = "webhooks:manage"
    INTEGRATIONS_MANAGE = "integrations:manage"
    CONVERSATIONS_MANAGE = "conversations:manage"


ALL_SCOPES: tuple[Scope, ...] = tuple(Scope)


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    name: str
    plan: Plan
    default_region: str
    created_at: str
    webhook_token_hash: str
    webhook_token_ciphertext: bytes
    parent_account_id: str | None = None


@dataclass(frozen=True, slots=True)
class TokenOwner:
    """What the lead webhook needs to know about the account a token belongs to."""

    account_id: str
    default_region: str


@dataclass(frozen=True, slots=True)
class ApiKey:
    account_id: str
    key_id: str
    name: str
    scopes: tuple[str, ...]
    prefix: str  # the first characters of the key, so that people can tell keys apart
    key_hash: str
    created_at: str

    def to_public(self) -> dict[str, object]:
        return {
            "keyId": self.key_id,
            "name": self.name,
            "scopes": list(self.scopes),
            "maskedKey": f"{self.prefix}…",
            "createdAt": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class Principal:
    """The account and scopes an authenticated request acts with, and where it came from: "api" for an
    X-API-Key request, "dashboard" for a dashboard session (audit entries record it as their source)."""

    account_id: str
    key_id: str  # the audit entries' actor: an API key id, or a dashboard sign-in link's id
    scopes: frozenset[str]
    source: str = "api"
