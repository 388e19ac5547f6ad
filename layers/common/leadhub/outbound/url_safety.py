"""Webhook URL safety (SSRF): which URLs customers may register and which addresses we may connect to.

A URL is checked when it is saved and again before every send, with a fresh DNS answer, and the sender
connects only to an address that passed, so a name that turns private after saving is refused. Rules:
https, no credentials, a public host name or IP literal (legacy IPv4 spellings such as `0x7f.1` and
`127.1` count as literals), every resolved address public by explicit tables (`ipaddress.is_global`
differs between Python 3.11 and 3.13). `allow_private` (local development only) admits loopback too,
over http as well; nothing else private."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from urllib.parse import quote, urlsplit

import idna

from leadhub.outbound.ports import DEFAULT_PORTS, Resolver, SafeTarget, UnresolvableHost
from leadhub.platform.errors import FieldError, InvalidRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_CHARS = 2048
DEFAULT_USER_AGENT = "Leadhub-Webhooks/1.0"


class UnsafeUrl(ValueError):
    """The URL may not be used as a webhook target; the message is safe to show to the customer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_invalid_request(self, field_name: str = "url") -> InvalidRequest:
        """The save-time 400 for this problem."""
        return InvalidRequest("Invalid webhook URL", [FieldError(field_name, self.message)])


class HostNotResolved(UnsafeUrl):
    """The host name could not be resolved, so its addresses could not be checked (possibly temporary)."""


# --- URL parsing ---------------------------------------------------------------------------------------

_FORBIDDEN_URL_CHARS = re.compile(r"[\x00-\x20\x7f\\]")
_HOST_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"

# Names that never denote a public host (RFC 6761/6762/8375, cloud-internal zones, common private TLDs).
_PRIVATE_SUFFIXES = (
    "localhost",
    "local",
    "localdomain",
    "internal",
    "intranet",
    "lan",
    "home",
    "corp",
    "private",
    "arpa",  # home.arpa and reverse-lookup names
    "onion",
)


def check_webhook_url(url: str, resolver: Resolver, *, allow_private: bool = False) -> SafeTarget:
    """Parse, normalise and check `url`, resolving its host; raises UnsafeUrl naming the problem."""
    scheme, raw_host, port, path_and_query = _split_url(url, allow_private)
    host, literal = _normalise_host(raw_host, allow_private)
    if literal is not None:
        # A bracketed IPv6 literal is just reformatted; other spellings are worth naming in the message.
        written = None if raw_host.startswith("[") else raw_host
        addresses = check_addresses(host, [host], allow_private, written=written)
    else:
        try:
            resolved = resolver.resolve(host, port)
        except UnresolvableHost:
            raise HostNotResolved(f"{host} could not be resolved") from None
        addresses = check_addresses(host, resolved, allow_private)
    if scheme == "http" and not all(_is_loopback(ipaddress.ip_address(a)) for a in addresses):
        raise UnsafeUrl(
            "webhook URLs must use https (http is allowed only for loopback targets in local dev)"
        )
    authority = f"[{host}]" if ":" in host else host
    if DEFAULT_PORTS[scheme] != port:
        authority = f"{authority}:{port}"
    return SafeTarget(
        url=f"{scheme}://{authority}{path_and_query}",
        scheme=scheme,
        host=host,
        port=port,
        path_and_query=path_and_query,
        addresses=addresses,
    )


def check_addresses(
    host: str, addresses: Sequence[str], allow_private: bool = False, *, written: str | None = None
) -> tuple[str, ...]:
    """Every address, checked and canonical (IPv4-mapped IPv6 as plain IPv4), in the given order.
    Used at save time and again before every send with a fresh DNS answer. `written`: the host as the
    customer spelled it, for the message."""
    if not addresses:
        raise UnsafeUrl(f"{host} does not resolve to any address")
    checked: list[str] = []
    for text in addresses:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise UnsafeUrl(f"{host} resolves to something that is not an IP address") from None
        reason = blocked_reason(address, allow_loopback=allow_private)
        if reason is not None:
            raise UnsafeUrl(_refusal(host, address, reason, written))
        canonical = (
            str(address.ipv4_mapped or address)
            if isinstance(address, ipaddress.IPv6Address)
            else str(address)
        )
        if canonical not in checked:
            checked.append(canonical)
    return tuple(checked)


def _refusal(host: str, address: IPAddress, reason: str, written: str | None) -> str:
    if _ip_or_none(host) is None:
        return f"{host} resolves to {reason} ({address})"
    if written and written.strip("[]").lower() != str(address):
        return f"{written} is {address}, {reason}"
    return f"{address} is {reason}"


def _split_url(url: str, allow_private: bool) -> tuple[str, str, int, str]:
    """(scheme, raw host, port, path and query) with the structural rules applied."""
    url = url.strip()
    if not url:
        raise UnsafeUrl("a webhook URL is required")
    if len(url) > MAX_URL_CHARS:
        raise UnsafeUrl(f"webhook URLs may be at most {MAX_URL_CHARS} characters long")
    if "\\" in url:
        # Browsers and some clients read "\" as "/", so the host would differ from what we checked.
        raise UnsafeUrl("webhook URLs must not contain backslashes")
    if _FORBIDDEN_URL_CHARS.search(url):
        raise UnsafeUrl("webhook URLs must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise UnsafeUrl("not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme != "https" and not (allow_private and scheme == "http"):
        raise UnsafeUrl("webhook URLs must use https")
    if not url[len(scheme) + 1 :].startswith("//") or not parts.netloc:
        raise UnsafeUrl("the URL has no host (expected https://host/path)")
    if "@" in parts.netloc:
        raise UnsafeUrl("webhook URLs must not contain credentials (user:password@)")
    if parts.fragment or url.endswith("#"):
        raise UnsafeUrl("webhook URLs must not contain a fragment (#...)")
    raw_host, port = _split_host_port(parts.netloc, DEFAULT_PORTS[scheme])
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    if not path.startswith("/"):
        path = "/" + path
    query = quote(parts.query, safe=_QUERY_SAFE)
    return scheme, raw_host, port, f"{path}?{query}" if query else path


def _split_host_port(netloc: str, default_port: int) -> tuple[str, int]:
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise UnsafeUrl("the IPv6 address is missing its closing bracket")
        host, rest = netloc[: end + 1], netloc[end + 1 :]
        if rest and not rest.startswith(":"):
            raise UnsafeUrl("not a valid URL")
        port_text = rest[1:] if rest else ""
    else:
        host, _, port_text = netloc.partition(":")
        if ":" in port_text:
            raise UnsafeUrl("IPv6 addresses must be written in brackets, e.g. https://[2001:db8::1]/")
    if host in ("", "[]"):
        raise UnsafeUrl("the URL has no host (expected https://host/path)")
    if not port_text:
        return host, default_port
    if (
        not (port_text.isascii() and port_text.isdigit())
        or len(port_text) > 5
        or not 0 < int(port_text) < 65536
    ):
        raise UnsafeUrl(f"{port_text} is not a valid port (1-65535)")
    return host, int(port_text)


def _normalise_host(raw_host: str, allow_private: bool) -> tuple[str, IPAddress | None]:
    """The host as we will resolve it and send it (lower-case IDNA, or a canonical IP), and the IP if any."""
    if raw_host.startswith("["):
        inner = raw_host[1:-1]
        if "%" in inner:
            raise UnsafeUrl("IPv6 zone identifiers (%...) are not allowed")
        try:
            address = ipaddress.IPv6Address(inner)
        except ValueError:
            raise UnsafeUrl(f"{raw_host} is not a valid IPv6 address") from None
        return str(address), address
    if "%" in raw_host:
        raise UnsafeUrl("percent-encoded host names are not allowed")
    host = raw_host
    if not host.isascii():
        # UTS 46 maps look-alikes (fullwidth letters and digits, ideographic dots) to what they spell.
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            raise UnsafeUrl(f"{raw_host} is not a valid host name") from None
    host = host.lower()
    if host.endswith("."):  # one trailing dot is the fully-qualified spelling of the same name
        host = host[:-1]
    if not host or host.endswith(".") or ".." in host or host.startswith("."):
        raise UnsafeUrl(f"{raw_host} is not a valid host name")
    ipv4 = legacy_ipv4(host)
    if ipv4 is not None:
        return str(ipv4), ipv4
    _check_host_name(host, allow_private)
    return host, None


def _check_host_name(host: str, allow_private: bool) -> None:
    labels = host.split(".")
    if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise UnsafeUrl(f"{host} is not a valid host name")
    if host == "localhost":
        if allow_private:
            return
        raise UnsafeUrl("localhost names are not allowed")
    if len(labels) == 1:
        raise UnsafeUrl(f"single-label host names such as {host!r} are not allowed; use a public domain name")
    if labels[-1] == "localhost":
        raise UnsafeUrl("localhost names are not allowed")
    if labels[-1] in _PRIVATE_SUFFIXES:
        raise UnsafeUrl(f"'.{labels[-1]}' names are not allowed: they are not public")


def legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host spells the way `inet_aton` and browsers (WHATWG URL) read it, or None when
    it is a name. Up to four dot-separated parts, each decimal, octal (leading 0) or hex (0x); the last
    part fills the remaining bytes (`127.1`, `2130706433`). A host ending in a number that is not a valid
    address is refused rather than looked up, as browsers do."""
    parts = host.split(".")
    if not _is_ipv4_number(parts[-1]):
        return None
    if len(parts) > 4:
        raise UnsafeUrl(f"{host} is not a valid IPv4 address")
    numbers = [_ipv4_number(part, host) for part in parts]
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        raise UnsafeUrl(f"{host} is not a valid IPv4 address")
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _is_ipv4_number(part: str) -> bool:
    if part.isascii() and part.isdigit():
        return True
    return part[:2] in ("0x", "0X") and all(c in "0123456789abcdefABCDEF" for c in part[2:])


def _ipv4_number(part: str, host: str) -> int:
    try:
        if part[:2] in ("0x", "0X"):
            return int(part[2:] or "0", 16)
        if len(part) > 1 and part.startswith("0"):
            return int(part[1:], 8)
        if part.isascii() and part.isdigit():
            return int(part)
    except ValueError:
        pass
    raise UnsafeUrl(f"{host} is not a valid IPv4 address")


# --- address classes -----------------------------------------------------------------------------------

_Net = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(*entries: tuple[str, str]) -> tuple[tuple[_Net, str], ...]:
    return tuple((ipaddress.ip_network(cidr), reason) for cidr, reason in entries)


# Most specific first: the first match names the reason.
_IPV4_BLOCKED = _networks(
    ("169.254.169.254/32", "a link-local address (the cloud metadata service)"),
    ("0.0.0.0/8", "a 'this network' address (0.0.0.0/8)"),
    ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "a shared carrier-grade NAT address (100.64.0.0/10)"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local address"),
    ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "an IETF protocol assignment address (192.0.0.0/24)"),
    ("192.0.2.0/24", "a documentation address"),
    ("192.88.99.0/24", "a 6to4 relay anycast address"),
    ("192.168.0.0/16", "a private address"),
    ("198.18.0.0/15", "a benchmarking address (198.18.0.0/15)"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("224.0.0.0/4", "a multicast address"),
    ("255.255.255.255/32", "the broadcast address"),
    ("240.0.0.0/4", "a reserved address (240.0.0.0/4)"),
)

_IPV6_BLOCKED = _networks(
    ("::/128", "the unspecified address"),
    ("::1/128", "a loopback address"),
    ("::/96", "a deprecated IPv4-compatible address"),
    ("::ffff:0:0:0/96", "an IPv4-translated address"),
    ("64:ff9b:1::/48", "a local-use NAT64 address"),
    ("100::/64", "a discard-only address"),
    ("2001::/32", "a Teredo tunnelling address"),
    ("2001:db8::/32", "a documentation address"),
    ("3fff::/20", "a documentation address"),
    ("2001::/23", "an IETF protocol assignment address (2001::/23)"),
    ("fc00::/7", "a unique local address (fc00::/7)"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a site-local address"),
    ("ff00::/8", "a multicast address"),
)

_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_IPV4_LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")


def blocked_reason(address: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why we may not connect to `address` (a phrase such as "a private address"), or None if it is
    public. `allow_loopback` (local dev) lets loopback addresses through, and nothing else."""
    if allow_loopback and _is_loopback(address):
        return None
    if isinstance(address, ipaddress.IPv4Address):
        return next((reason for net, reason in _IPV4_BLOCKED if address in net), None)
    if address.scope_id:
        return "an address with a zone identifier"
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        kind, ipv4 = embedded
        inner = blocked_reason(ipv4, allow_loopback=allow_loopback)
        if inner is not None:
            return f"{kind} form of {ipv4}, {inner}"
        if address in _SIX_TO_FOUR:
            # Deprecated relay tunnelling (RFC 7526), not globally reachable in newer Pythons' tables.
            return "a 6to4 tunnelling address (2002::/16)"
        return None
    reason = next((reason for net, reason in _IPV6_BLOCKED if address in net), None)
    if reason is None and address not in _GLOBAL_UNICAST:
        reason = "a reserved address"
    return reason


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address that an IPv4-mapped, NAT64 or 6to4 address reaches, with the form's name."""
    if address in _IPV4_MAPPED:
        return "an IPv4-mapped", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _NAT64:
        return "a NAT64", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return "a 6to4", ipaddress.IPv4Address((int(address) >> 80) & 0xFFFFFFFF)
    return None


def _is_loopback(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped in _IPV4_LOOPBACK
        return address == ipaddress.IPv6Address("::1")
    return address in _IPV4_LOOPBACK


def _ip_or_none(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
