"""One-time sign-in links: minted through the API (POST /api/dashboard/links), valid 15 minutes, used once.

An agency (parent account) may mint a link to one of its managed accounts, and to that account only.
Opening the link (GET) only shows a "Sign in" button: email scanners fetch links, and must not use them
up. The button's POST uses the link and opens the session in one transaction."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from leadhub.accounts.audit import AuditEntry
from leadhub.accounts.models import Principal
from leadhub.accounts.ports import AccountRepository
from leadhub.dashboard.models import SignInLink
from leadhub.dashboard.ports import FailedSignIns, SessionStore, SignInLinks
from leadhub.dashboard.sessions import OpenedSession, new_session, signed_in_audit
from leadhub.dashboard.sign_in_limit import check_sign_in_allowed, record_failed_sign_in
from leadhub.platform.errors import FieldError, InvalidRequest
from leadhub.platform.ids import secret_token, sortable_id, token_hash
from leadhub.platform.timestamps import from_iso, to_iso

LINK_TOKEN_PREFIX = "lhl"  # noqa: S105 - a prefix, not a secret
_LINK_TOKEN_SHAPE = re.compile(r"lhl_[A-Za-z0-9_-]{43}")
LINK_LIFETIME = timedelta(minutes=15)
SIGN_IN_LINK_PATH = "/login/link/"


class LinkState(Enum):
    USABLE = "usable"
    USED = "used"
    EXPIRED = "expired"
    UNKNOWN = "unknown"

    @property
    def problem(self) -> str:
        """What the person who opened the link is told when it cannot sign them in."""
        return _PROBLEMS.get(self, "")


_PROBLEMS = {
    LinkState.USED: "This sign-in link has been used already. Ask for a new one.",
    LinkState.EXPIRED: "This sign-in link has expired (links are valid for 15 minutes). Ask for a new one.",
    LinkState.UNKNOWN: "This sign-in link is not valid. Check it was copied whole, or ask for a new one.",
}


class LinkRefused(InvalidRequest):
    def __init__(self, state: LinkState) -> None:
        super().__init__("Invalid sign-in link", [FieldError("link", state.problem)])
        self.state = state


@dataclass(frozen=True, slots=True)
class MintedLink:
    link: SignInLink
    token: str  # in the URL only; never stored

    def url(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}{SIGN_IN_LINK_PATH}{self.token}"


def mint_sign_in_link(
    principal: Principal,
    scopes: Sequence[str] | None,
    account_id: str | None,
    *,
    accounts: AccountRepository,
    links: SignInLinks,
    now: datetime,
) -> MintedLink:
    """A link granting `scopes` (the caller's own when None; never more) to the caller's account, or to
    `account_id` when that is one of the caller's managed accounts."""
    granted = tuple(dict.fromkeys(scopes)) if scopes is not None else tuple(sorted(principal.scopes))
    beyond = [s for s in granted if s not in principal.scopes]
    if beyond:
        raise InvalidRequest(
            "Invalid sign-in link", [FieldError("scopes", f"you cannot grant {', '.join(beyond)}")]
        )
    target = account_id or principal.account_id
    if target != principal.account_id:
        managed = accounts.get_account(target)
        if managed is None or managed.parent_account_id != principal.account_id:
            # The same answer whether the account does not exist or belongs to someone else.
            raise InvalidRequest(
                "Invalid sign-in link",
                [FieldError("accountId", f"{target} is not a managed account of this account")],
            )
    token = secret_token(LINK_TOKEN_PREFIX, 32)
    link = SignInLink(
        link_id=sortable_id("lnk"),
        link_hash=token_hash(token),
        account_id=target,
        scopes=granted,
        created_by=principal.key_id,
        created_by_account=principal.account_id,
        created_at=to_iso(now),
        expires_at=to_iso(now + LINK_LIFETIME),
    )
    audit = [
        AuditEntry(
            target,
            "dashboard_link.created",
            principal.source,
            link.created_at,
            principal.key_id,
            {"linkId": link.link_id, "byAccountId": principal.account_id},
        )
    ]
    if target != principal.account_id:  # the agency's own log shows it too
        audit.append(
            AuditEntry(
                principal.account_id,
                "dashboard_link.created",
                principal.source,
                link.created_at,
                principal.key_id,
                {"linkId": link.link_id, "accountId": target},
            )
        )
    links.add(link, audit)
    return MintedLink(link, token)


def link_state(link: SignInLink | None, now: datetime) -> LinkState:
    if link is None:
        return LinkState.UNKNOWN
    if link.used_at is not None:
        return LinkState.USED
    if from_iso(link.expires_at) <= now:
        return LinkState.EXPIRED
    return LinkState.USABLE


def inspect_sign_in_link(token: str, *, links: SignInLinks, now: datetime) -> LinkState:
    """What opening the link shows (nothing is used up)."""
    if not _LINK_TOKEN_SHAPE.fullmatch(token):
        return LinkState.UNKNOWN
    return link_state(links.get(token_hash(token)), now)


def sign_in_with_link(
    token: str,
    source_ip: str,
    *,
    links: SignInLinks,
    sessions: SessionStore,
    failures: FailedSignIns,
    now: datetime,
) -> OpenedSession:
    """Use the link (once) and open a session with its account and scopes."""
    check_sign_in_allowed(source_ip, failures=failures, now=now)
    link = links.get(token_hash(token)) if _LINK_TOKEN_SHAPE.fullmatch(token) else None
    state = link_state(link, now)
    if state is LinkState.USABLE and link is not None:
        opened = new_session(link.account_id, frozenset(link.scopes), link.link_id, "link", None, now)
        if links.consume(link, opened.session, signed_in_audit(opened.session), to_iso(now)):
            return opened
        # Used (or expired) meanwhile, by a concurrent request.
        state = link_state(links.get(link.link_hash), now)
        state = LinkState.USED if state is LinkState.USABLE else state
    record_failed_sign_in(source_ip, failures=failures, now=now)
    raise LinkRefused(state)
