"""The tokens Leadhub signs for widget visitors (HMAC-SHA256 with the deployment's widget secret):

- the visitor token `vis_….<signature>`: who the visitor is, kept in the host page's localStorage so a
  returning visitor continues their conversation; it is bound to the account, never expires;
- the page token `<issued>.<nonce>.<signature>`: obtained by each page load before its first message
  (POST …/session), bound to the account and the visitor, valid for PAGE_TOKEN_LIFETIME.

Signatures are compared in constant time; a token that is not ours is simply not valid."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from leadhub.platform.ids import sortable_id

PAGE_TOKEN_LIFETIME = timedelta(hours=12)
_CLOCK_SKEW = timedelta(minutes=1)
_VISITOR_ID = re.compile(r"vis_[0-9a-z]{26}")
_SIGNATURE = r"[A-Za-z0-9_-]{43}"
_VISITOR_TOKEN = re.compile(rf"(vis_[0-9a-z]{{26}})\.({_SIGNATURE})")
_PAGE_TOKEN = re.compile(rf"([0-9]{{10}})\.([A-Za-z0-9_-]{{16}})\.({_SIGNATURE})")


def new_visitor_id() -> str:
    return sortable_id("vis")


def is_visitor_id(text: str) -> bool:
    return bool(_VISITOR_ID.fullmatch(text))


def _signature(secret: str, purpose: str, *parts: str) -> str:
    message = "\x1f".join((purpose, *parts)).encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def keyed_digest(secret: str, purpose: str, value: str) -> str:
    """A short stand-in for `value` (e.g. an IP address) that only holders of the secret can link to it."""
    return _signature(secret, purpose, value)[:22]


def visitor_token(secret: str, account_id: str, visitor_id: str) -> str:
    return f"{visitor_id}.{_signature(secret, 'visitor', account_id, visitor_id)}"


def visitor_of(secret: str, account_id: str, token: str | None) -> str | None:
    """The visitor id a valid token of this account names, else None."""
    match = _VISITOR_TOKEN.fullmatch(token or "")
    if match is None:
        return None
    visitor_id, signature = match.groups()
    expected = _signature(secret, "visitor", account_id, visitor_id)
    return visitor_id if hmac.compare_digest(signature, expected) else None


def page_token(secret: str, account_id: str, visitor_id: str, now: datetime) -> str:
    issued = str(int(now.timestamp()))
    nonce = secrets.token_urlsafe(12)
    return f"{issued}.{nonce}.{_signature(secret, 'page', account_id, visitor_id, issued, nonce)}"


def page_token_valid(secret: str, account_id: str, visitor_id: str, token: str | None, now: datetime) -> bool:
    match = _PAGE_TOKEN.fullmatch(token or "")
    if match is None:
        return False
    issued, nonce, signature = match.groups()
    expected = _signature(secret, "page", account_id, visitor_id, issued, nonce)
    if not hmac.compare_digest(signature, expected):
        return False
    age = now - datetime.fromtimestamp(int(issued), now.tzinfo)
    return -_CLOCK_SKEW <= age <= PAGE_TOKEN_LIFETIME
