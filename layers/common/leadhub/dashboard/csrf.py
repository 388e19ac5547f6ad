"""Cross-site request forgery: every state-changing request carries a token the server checks.

- Signed in: the token is derived from the session's own token (HMAC), so it needs no storage and only
  the page's own forms (and our script, through the X-CSRF-Token header) can know it.
- Signing in (no session yet): a random token in a SameSite=Strict cookie and the same in the form
  (double submit).
Every POST must also come from a page of this site (Origin / Sec-Fetch-Site), checked first."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from urllib.parse import urlsplit

from leadhub.platform.errors import Forbidden

CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
_CONTEXT = b"leadhub dashboard csrf v1"


class CsrfRejected(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "This form has expired or did not come from this site. Reload the page and try again."
        )


def session_csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), _CONTEXT, hashlib.sha256).hexdigest()


def new_sign_in_csrf_token() -> str:
    return secrets.token_hex(32)


def check_csrf_token(expected: str | None, presented: str | None) -> None:
    """Constant-time compare; a missing side is a refusal."""
    if not expected or not presented or not hmac.compare_digest(expected.encode(), presented.encode()):
        raise CsrfRejected


def check_same_origin(headers: Mapping[str, str]) -> None:
    """Refuse a state-changing request a browser says came from another site. (Browsers send these
    headers; a request without them still needs its CSRF token.)"""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        raise CsrfRejected
    origin = headers.get("origin")
    if origin is not None and urlsplit(origin).netloc.lower() != headers.get("host", "").lower():
        raise CsrfRejected
