"""What the dashboard stores: a signed-in session and a one-time sign-in link (sessions.py and links.py
hold what is done with them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from leadhub.accounts.models import Principal
from leadhub.platform.timestamps import from_iso

IDLE_LIFETIME = timedelta(hours=12)
ABSOLUTE_LIFETIME = timedelta(days=7)
DASHBOARD = "dashboard"  # the audit source of whatever a session does


@dataclass(frozen=True, slots=True)
class Session:
    session_hash: str
    account_id: str
    scopes: frozenset[str]
    actor: str  # what signed in: the API key's id, or the sign-in link's id
    method: str  # "api_key" | "link"
    created_at: str
    last_seen_at: str
    key_id: str | None = None  # a key's session ends when the key is revoked

    def expires_at(self) -> datetime:
        idle = from_iso(self.last_seen_at) + IDLE_LIFETIME
        return min(idle, from_iso(self.created_at) + ABSOLUTE_LIFETIME)

    def principal(self) -> Principal:
        """Who the dashboard's domain calls act as: the session's account and scopes, source "dashboard"."""
        return Principal(self.account_id, self.actor, self.scopes, source=DASHBOARD)


@dataclass(frozen=True, slots=True)
class SignInLink:
    link_id: str  # public: the audit entries and the sessions it opens name it
    link_hash: str
    account_id: str  # the account the link signs in to
    scopes: tuple[str, ...]
    created_by: str  # the API key that minted it
    created_by_account: str
    created_at: str
    expires_at: str
    used_at: str | None = None
