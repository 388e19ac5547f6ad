"""Dashboard sessions: what a sign-in opens, what each request checks, and sign-out.

The browser holds the session's token (256 random bits) in an HttpOnly cookie; the table holds only its
hash, so a leaked table reveals no usable session. A session lives 12 hours past its last use and 7 days
at most; its last use is written at most once a minute, not on every request."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from leadhub.accounts.api_keys import authenticate
from leadhub.accounts.audit import AuditEntry
from leadhub.accounts.ports import AccountRepository
from leadhub.dashboard.models import DASHBOARD, Session
from leadhub.dashboard.ports import FailedSignIns, SessionStore
from leadhub.dashboard.sign_in_limit import check_sign_in_allowed, record_failed_sign_in
from leadhub.platform.errors import FieldError, Forbidden, InvalidRequest, Unauthorized
from leadhub.platform.ids import secret_token, token_hash
from leadhub.platform.timestamps import from_iso, to_iso

SESSION_TOKEN_PREFIX = "lhs"  # noqa: S105 - a prefix, not a secret
_SESSION_TOKEN_SHAPE = re.compile(r"lhs_[A-Za-z0-9_-]{43}")
TOUCH_INTERVAL = timedelta(minutes=1)


class SignInRequired(Unauthorized):
    """No session, or one that has ended: the browser is sent to the sign-in page."""

    def __init__(self) -> None:
        super().__init__("Please sign in")


@dataclass(frozen=True, slots=True)
class OpenedSession:
    session: Session
    token: str  # for the cookie; never stored


def new_session(
    account_id: str, scopes: frozenset[str], actor: str, method: str, key_id: str | None, now: datetime
) -> OpenedSession:
    token = secret_token(SESSION_TOKEN_PREFIX, 32)
    at = to_iso(now)
    session = Session(token_hash(token), account_id, scopes, actor, method, at, at, key_id)
    return OpenedSession(session, token)


def signed_in_audit(session: Session) -> AuditEntry:
    return AuditEntry(
        session.account_id,
        "dashboard.signed_in",
        DASHBOARD,
        session.created_at,
        session.actor,
        {"method": session.method},
    )


def sign_in_with_key(
    api_key: str,
    source_ip: str,
    *,
    accounts: AccountRepository,
    sessions: SessionStore,
    failures: FailedSignIns,
    now: datetime,
) -> OpenedSession:
    """Exchange an API key for a session with the key's account and scopes (the key is not kept)."""
    check_sign_in_allowed(source_ip, failures=failures, now=now)
    api_key = api_key.strip()
    if not api_key:
        raise InvalidRequest("Invalid sign-in", [FieldError("apiKey", "Field required")])
    try:
        principal = authenticate(api_key, accounts=accounts)
    except Unauthorized:
        record_failed_sign_in(source_ip, failures=failures, now=now)
        raise InvalidRequest("Invalid sign-in", [FieldError("apiKey", "Invalid API key")]) from None
    opened = new_session(
        principal.account_id, principal.scopes, principal.key_id, "api_key", principal.key_id, now
    )
    sessions.create(opened.session, signed_in_audit(opened.session))
    return opened


def current_session(token: str | None, *, sessions: SessionStore, now: datetime) -> Session:
    """The live session the cookie's token names; its activity recorded at most once a minute."""
    if not token or not _SESSION_TOKEN_SHAPE.fullmatch(token):
        raise SignInRequired
    session = sessions.get(token_hash(token))
    if session is None or session.expires_at() <= now:
        raise SignInRequired
    if now - from_iso(session.last_seen_at) >= TOUCH_INTERVAL:
        at = to_iso(now)
        if not sessions.touch(session, at):
            raise SignInRequired
        session = replace(session, last_seen_at=at)
    return session


def sign_out(session: Session, *, sessions: SessionStore, now: datetime) -> None:
    """End the session server-side: its cookie no longer opens anything."""
    audit = AuditEntry(session.account_id, "dashboard.signed_out", DASHBOARD, to_iso(now), session.actor)
    sessions.end(session, audit)


def require_scope(session: Session, scope: str) -> None:
    if scope not in session.scopes:
        raise Forbidden(f"This session lacks the '{scope}' scope")
