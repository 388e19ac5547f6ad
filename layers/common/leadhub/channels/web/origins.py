"""Origins as browsers send them (`Origin: https://shop.example`): the allow-list holds them in that
serialised form, so a request's origin is allowed when it equals an entry."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
MAX_ORIGIN_CHARS = 300


def normalised_origin(text: str) -> str:
    """`scheme://host[:port]` lower-cased, without the scheme's default port or a trailing slash.
    ValueError for anything else (a path, a query, credentials, another scheme, a wildcard)."""
    if len(text) > MAX_ORIGIN_CHARS:
        raise ValueError(f"an origin is at most {MAX_ORIGIN_CHARS} characters")
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        raise ValueError("not an origin like https://www.example.com") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in _DEFAULT_PORTS or not _is_host(host):
        raise ValueError("not an origin like https://www.example.com (http or https, a host name)")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("an origin has no path, query or credentials: scheme://host[:port]")
    if ":" in host:  # IPv6, shown in brackets as browsers send it
        host = f"[{ipaddress.IPv6Address(host).compressed}]"
    shown_port = "" if port in (None, _DEFAULT_PORTS[scheme]) else f":{port}"
    return f"{scheme}://{host}{shown_port}"


def allowed(origin: str | None, allow_list: tuple[str, ...]) -> bool:
    """Whether a request's Origin header names an allowed origin (compared in the normalised form)."""
    if not origin:
        return False
    try:
        return normalised_origin(origin) in allow_list
    except ValueError:
        return False


def _is_host(host: str) -> bool:
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return True
    return bool(_HOST_NAME.fullmatch(host))
