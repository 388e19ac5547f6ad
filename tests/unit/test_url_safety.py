"""Webhook URL safety (SSRF): the forms that must be refused, the ones that must pass, and rebinding.
A fake resolver stands in for DNS; nothing here touches the network."""

from __future__ import annotations

import ipaddress
import random

import pytest

from leadhub.outbound.ports import SafeTarget, UnresolvableHost
from leadhub.outbound.url_safety import (
    HostNotResolved,
    UnsafeUrl,
    blocked_reason,
    check_addresses,
    check_webhook_url,
    legacy_ipv4,
)
from leadhub.platform.errors import FieldError, InvalidRequest

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"


class FakeResolver:
    """Answers every name from a table (default: one public address) and records the look-ups."""

    def __init__(self, answers: dict[str, list[str]] | None = None, default: list[str] | None = None) -> None:
        self.answers = answers or {}
        self.default = [PUBLIC_V4] if default is None else default
        self.lookups: list[tuple[str, int]] = []

    def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append((host, port))
        if host in self.answers:
            return list(self.answers[host])
        if not self.default:
            raise UnresolvableHost(host)
        return list(self.default)


class SequenceResolver:
    """Gives each answer in turn: a name that changes its DNS answer between look-ups."""

    def __init__(self, *answers: list[str]) -> None:
        self._answers = list(answers)

    def resolve(self, host: str, port: int) -> list[str]:
        return self._answers.pop(0)


def refusal(url: str, resolver: FakeResolver | None = None, *, allow_private: bool = False) -> str:
    with pytest.raises(UnsafeUrl) as caught:
        check_webhook_url(url, resolver or FakeResolver(), allow_private=allow_private)
    return caught.value.message


# (url, a fragment of the expected message). Every one is refused before any DNS look-up.
REFUSED_WITHOUT_DNS = [
    # loopback / private / link-local / metadata / CGNAT / this-network / multicast / reserved
    ("https://127.0.0.1/", "127.0.0.1 is a loopback address"),
    ("https://127.255.255.254/", "loopback"),
    ("https://10.0.0.5/hook", "10.0.0.5 is a private address"),
    ("https://172.16.3.4/", "private"),
    ("https://172.31.255.255/", "private"),
    ("https://192.168.1.1/", "private"),
    ("https://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("https://169.254.170.2/v2/credentials", "link-local"),
    ("https://100.64.0.1/", "carrier-grade NAT"),
    ("https://100.127.255.254/", "carrier-grade NAT"),
    ("https://0.0.0.0/", "'this network'"),
    ("https://0.1.2.3/", "'this network'"),
    ("https://224.0.0.1/", "multicast"),
    ("https://239.255.255.250/", "multicast"),
    ("https://240.0.0.1/", "reserved"),
    ("https://255.255.255.255/", "broadcast"),
    ("https://198.18.0.1/", "benchmarking"),
    ("https://192.0.2.10/", "documentation"),
    ("https://198.51.100.7/", "documentation"),
    ("https://203.0.113.9/", "documentation"),
    ("https://192.0.0.8/", "IETF protocol"),
    # IPv6 literals
    ("https://[::1]/", "::1 is a loopback address"),
    ("https://[::]/", "unspecified"),
    ("https://[fc00::1]/", "unique local"),
    ("https://[fd00:ec2::254]/", "unique local"),
    ("https://[fe80::1]/", "link-local"),
    ("https://[fe80::1%25eth0]/", "zone identifiers"),
    ("https://[ff02::1]/", "multicast"),
    ("https://[fec0::1]/", "site-local"),
    ("https://[::ffff:127.0.0.1]/", "IPv4-mapped form of 127.0.0.1, a loopback"),
    ("https://[::ffff:a9fe:a9fe]/", "IPv4-mapped form of 169.254.169.254"),
    ("https://[::127.0.0.1]/", "IPv4-compatible"),
    ("https://[::ffff:0:7f00:1]/", "IPv4-translated"),
    ("https://[64:ff9b::127.0.0.1]/", "NAT64 form of 127.0.0.1"),
    ("https://[64:ff9b::a9fe:a9fe]/", "NAT64 form of 169.254.169.254"),
    ("https://[64:ff9b:1::a00:1]/", "local-use NAT64"),
    ("https://[2002:7f00:1::1]/", "6to4 form of 127.0.0.1"),
    ("https://[2002:c0a8:101::]/", "6to4 form of 192.168.1.1"),
    ("https://[2002:808:808::1]/", "6to4 tunnelling address"),  # deprecated even for public IPv4
    ("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "Teredo"),
    ("https://[2001:db8::1]/", "documentation"),
    ("https://[100::1]/", "discard-only"),
    ("https://[5f00::1]/", "reserved"),
    # legacy IPv4 spellings (inet_aton / browsers)
    ("https://2130706433/", "2130706433 is 127.0.0.1, a loopback address"),
    ("https://0177.0.0.1/", "0177.0.0.1 is 127.0.0.1"),
    ("https://0177.0000.0000.0001/", "is 127.0.0.1"),
    ("https://0x7f.0.0.1/", "0x7f.0.0.1 is 127.0.0.1"),
    ("https://0x7f000001/", "0x7f000001 is 127.0.0.1"),
    ("https://0X7F.1/", "is 127.0.0.1"),
    ("https://127.1/", "127.1 is 127.0.0.1"),
    ("https://127.0.1/", "is 127.0.0.1"),
    ("https://10.1/", "10.1 is 10.0.0.1, a private address"),
    ("https://0xa9.254.0xa9fe/", "is 169.254.169.254"),
    ("https://0251.0376.0251.0376/", "is 169.254.169.254"),
    ("https://017700000001/", "is 127.0.0.1"),
    ("https://0/", "is 0.0.0.0"),
    ("https://0x/", "is 0.0.0.0"),
    ("https://127.0.0.1./", "is 127.0.0.1"),
    ("https://0x7f.0.0.1./", "is 127.0.0.1"),
    ("https://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", "is 127.0.0.1"),  # fullwidth digits
    ("https://127。0。0。1/", "is 127.0.0.1"),  # ideographic full stops
    ("https://256.0.0.1/", "not a valid IPv4 address"),
    ("https://08.0.0.1/", "not a valid IPv4 address"),
    ("https://1.2.3.4.5/", "not a valid IPv4 address"),
    ("https://evil.example.123/", "not a valid IPv4 address"),
    # names
    ("https://localhost/", "localhost names are not allowed"),
    ("https://LOCALHOST./", "localhost names are not allowed"),
    ("https://api.localhost/", "localhost names are not allowed"),
    (
        "https://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/",
        "localhost names are not allowed",
    ),  # fullwidth
    ("https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/", "localhost names are not allowed"),  # enclosed letters
    ("https://local\u00adhost/", "localhost names are not allowed"),  # soft hyphen is mapped away
    ("https://metadata.google.internal/", "'.internal' names"),
    ("https://ip-10-0-0-5.ec2.internal/", "'.internal' names"),
    ("https://printer.local/", "'.local' names"),
    ("https://nas.localdomain/", "'.localdomain' names"),
    ("https://router.home.arpa/", "'.arpa' names"),
    ("https://1.0.0.127.in-addr.arpa/", "'.arpa' names"),
    ("https://intranet/", "single-label"),
    ("https://metadata/", "single-label"),
    # structure: scheme, credentials, fragments, backslashes, host, port
    ("http://example.com/hook", "must use https"),
    ("HTTP://example.com/hook", "must use https"),
    ("ftp://example.com/", "must use https"),
    ("file:///etc/passwd", "must use https"),
    ("gopher://127.0.0.1:6379/_FLUSHALL", "must use https"),
    ("dict://127.0.0.1:11211/", "must use https"),
    ("//example.com/hook", "must use https"),
    ("example.com/hook", "must use https"),
    ("https://example.com@127.0.0.1/", "credentials"),
    ("https://user:pass@example.com/", "credentials"),
    ("https://example.com%2F@127.0.0.1/", "credentials"),
    ("https://127.0.0.1#@example.com/", "fragment"),
    ("https://example.com/hook#frag", "fragment"),
    ("https://127.0.0.1\\@example.com/", "backslashes"),
    ("https:\\\\127.0.0.1/", "backslashes"),
    ("https://exam ple.com/", "spaces or control characters"),
    ("https://example.com\t/", "spaces or control characters"),
    ("https://example.com\n.evil/", "spaces or control characters"),
    ("https:///hook", "no host"),
    ("https://", "no host"),
    ("https:example.com/hook", "no host"),
    ("https://:443/", "no host"),
    ("https://example.com:0/", "not a valid port"),
    ("https://example.com:65536/", "not a valid port"),
    ("https://example.com:-1/", "not a valid port"),
    ("https://example.com:+443/", "not a valid port"),
    ("https://example.com:४४३/", "not a valid port"),  # Devanagari digits
    ("https://%31%32%37.0.0.1/", "percent-encoded"),
    ("https://::1/", "brackets"),
    ("https://[::1/", "not a valid URL"),
    ("https://[v1.fe80::a+en1]/", "not a valid IPv6 address"),
    ("https://exa_mple..com/", "not a valid host name"),
    ("https://-example.com/", "not a valid host name"),
    ("", "required"),
    ("https://" + "a" * 2050 + ".com/", "at most 2048"),
]


@pytest.mark.parametrize(
    ("url", "expected"), REFUSED_WITHOUT_DNS, ids=[u[:60] for u, _ in REFUSED_WITHOUT_DNS]
)
def test_bypass_forms_are_refused_before_any_dns_lookup(url: str, expected: str) -> None:
    resolver = FakeResolver()
    assert expected in refusal(url, resolver)
    assert resolver.lookups == []


def test_the_table_has_well_over_forty_bypass_forms() -> None:
    assert len(REFUSED_WITHOUT_DNS) >= 40


# (resolved addresses, expected message): a public-looking name that resolves somewhere it must not.
REFUSED_AFTER_DNS = [
    (["127.0.0.1"], "hooks.example.com resolves to a loopback address (127.0.0.1)"),
    (["10.0.0.5"], "hooks.example.com resolves to a private address (10.0.0.5)"),
    (["169.254.169.254"], "cloud metadata service) (169.254.169.254)"),
    (["100.100.100.200"], "carrier-grade NAT"),
    (["0.0.0.0"], "'this network'"),  # noqa: S104
    (["::1"], "loopback"),
    (["fd12:3456::1"], "unique local"),
    (["fe80::1%eth0"], "zone identifier"),
    (["::ffff:10.0.0.5"], "IPv4-mapped form of 10.0.0.5"),
    (["64:ff9b::10.0.0.5"], "NAT64 form of 10.0.0.5"),
    # One bad answer among good ones is enough: the client might pick any of them.
    ([PUBLIC_V4, "192.168.0.10"], "private address (192.168.0.10)"),
    ([PUBLIC_V6, "fc00::5"], "unique local"),
    ([], "does not resolve to any address"),
    (["not-an-ip"], "not an IP address"),
]


@pytest.mark.parametrize(("answer", "expected"), REFUSED_AFTER_DNS)
def test_names_resolving_to_non_public_addresses_are_refused(answer: list[str], expected: str) -> None:
    resolver = FakeResolver({"hooks.example.com": answer})
    assert expected in refusal("https://hooks.example.com/webhook", resolver)


def test_public_names_pass_with_every_address_checked_and_the_url_normalised() -> None:
    resolver = FakeResolver({"hooks.example.com": [PUBLIC_V6, PUBLIC_V4, "::ffff:93.184.215.14", PUBLIC_V4]})
    target = check_webhook_url("HTTPS://Hooks.Example.COM.:8443/in/lead?x=1&y=ü", resolver)
    assert target == SafeTarget(
        url="https://hooks.example.com:8443/in/lead?x=1&y=%C3%BC",
        scheme="https",
        host="hooks.example.com",
        port=8443,
        path_and_query="/in/lead?x=1&y=%C3%BC",
        addresses=(PUBLIC_V6, PUBLIC_V4),  # deduplicated, v4-mapped folded into IPv4
    )
    assert target.host_header == "hooks.example.com:8443"
    assert resolver.lookups == [("hooks.example.com", 8443)]


@pytest.mark.parametrize(
    ("url", "host", "addresses", "normalised"),
    [
        ("https://example.com", "example.com", (PUBLIC_V4,), "https://example.com/"),
        ("https://example.com:443/a/b", "example.com", (PUBLIC_V4,), "https://example.com/a/b"),
        ("  https://example.com/x  ", "example.com", (PUBLIC_V4,), "https://example.com/x"),
        (
            "https://bücher.example/p",
            "xn--bcher-kva.example",
            (PUBLIC_V4,),
            "https://xn--bcher-kva.example/p",
        ),
        ("https://8.8.8.8/hook", "8.8.8.8", ("8.8.8.8",), "https://8.8.8.8/hook"),
        ("https://0x08080808/", "8.8.8.8", ("8.8.8.8",), "https://8.8.8.8/"),  # a public legacy spelling
        ("https://[2606:4700::1111]/", "2606:4700::1111", ("2606:4700::1111",), "https://[2606:4700::1111]/"),
        ("https://[::ffff:8.8.8.8]/", "::ffff:808:808", ("8.8.8.8",), "https://[::ffff:808:808]/"),
        (
            "https://[64:ff9b::8.8.8.8]/",
            "64:ff9b::808:808",
            ("64:ff9b::808:808",),
            "https://[64:ff9b::808:808]/",
        ),
        ("https://my-crm.example.co.uk/hooks/1?a=b", "my-crm.example.co.uk", (PUBLIC_V4,), None),
        ("https://hooks.zapier.com/hooks/catch/1/abc/", "hooks.zapier.com", (PUBLIC_V4,), None),
        ("https://example.com:/x", "example.com", (PUBLIC_V4,), "https://example.com/x"),
    ],
)
def test_public_targets_pass(url: str, host: str, addresses: tuple[str, ...], normalised: str | None) -> None:
    target = check_webhook_url(url, FakeResolver())
    assert (target.host, target.addresses) == (host, addresses)
    assert target.url == (normalised or url)
    # The normalised URL passes again unchanged: it is what the sender re-checks before every send.
    assert check_webhook_url(target.url, FakeResolver()) == target


def test_ip_literals_are_not_looked_up() -> None:
    resolver = FakeResolver()
    check_webhook_url("https://8.8.8.8/", resolver)
    check_webhook_url("https://[2606:4700::1111]/", resolver)
    assert resolver.lookups == []


def test_an_unresolvable_host_is_refused_as_not_resolved() -> None:
    with pytest.raises(HostNotResolved, match=r"no-such-host\.example could not be resolved"):
        check_webhook_url("https://no-such-host.example/", FakeResolver(default=[]))


def test_the_refusal_becomes_a_400_naming_the_url_field() -> None:
    with pytest.raises(UnsafeUrl) as caught:
        check_webhook_url("https://10.0.0.5/", FakeResolver())
    error = caught.value.to_invalid_request()
    assert isinstance(error, InvalidRequest)
    assert error.status_code == 400
    assert error.details == [FieldError("url", "10.0.0.5 is a private address")]
    assert isinstance(caught.value, ValueError)  # usable in pydantic validators too


# --- local development: ALLOW_PRIVATE_WEBHOOK_TARGETS ---------------------------------------------------


@pytest.mark.parametrize(
    ("url", "answer"),
    [
        ("http://127.0.0.1:8080/hook", None),
        ("http://127.0.0.2/", None),
        ("https://127.0.0.1:8443/", None),
        ("http://[::1]:8080/", None),
        ("http://localhost:8080/hook", ["127.0.0.1", "::1"]),
        ("https://dev.example.com/", ["127.0.0.1"]),  # a public name pointing at loopback
    ],
)
def test_loopback_targets_pass_only_when_private_targets_are_allowed(
    url: str, answer: list[str] | None
) -> None:
    resolver = FakeResolver(default=answer or [])
    assert check_webhook_url(url, resolver, allow_private=True).addresses
    with pytest.raises(UnsafeUrl):
        check_webhook_url(url, resolver)


@pytest.mark.parametrize(
    ("url", "answer", "expected"),
    [
        ("http://10.0.0.5/", None, "10.0.0.5 is a private address"),
        ("https://192.168.1.10/", None, "private"),
        ("http://169.254.169.254/", None, "cloud metadata"),
        ("https://[fd00::1]/", None, "unique local"),
        ("http://example.com/", [PUBLIC_V4], "http is allowed only for loopback targets"),
        ("http://mixed.example.com/", ["127.0.0.1", PUBLIC_V4], "http is allowed only for loopback targets"),
        ("https://nas.example.com/", ["127.0.0.1", "10.0.0.7"], "private address (10.0.0.7)"),
        ("http://api.localhost/", None, "localhost names"),
        ("http://printer.local/", None, "'.local' names"),
        ("http://router/", None, "single-label"),
        ("ftp://127.0.0.1/", None, "must use https"),
    ],
)
def test_allowing_private_targets_allows_loopback_and_nothing_else(
    url: str, answer: list[str] | None, expected: str
) -> None:
    assert expected in refusal(url, FakeResolver(default=answer or []), allow_private=True)


# --- DNS rebinding: checked at save and again at every send ---------------------------------------------


def test_a_name_rebound_to_a_private_address_after_save_is_refused_at_send() -> None:
    resolver = SequenceResolver([PUBLIC_V4], ["10.0.0.5"], ["127.0.0.1", PUBLIC_V4])
    saved = check_webhook_url("https://rebind.example.com/hook", resolver)
    assert saved.addresses == (PUBLIC_V4,)

    # Before a send: a fresh answer, the same rules.
    with pytest.raises(UnsafeUrl, match=r"rebind.example.com resolves to a private address \(10.0.0.5\)"):
        check_addresses(saved.host, resolver.resolve(saved.host, saved.port))
    with pytest.raises(UnsafeUrl, match="loopback"):
        check_webhook_url(saved.url, resolver)


def test_send_time_check_returns_the_fresh_checked_addresses() -> None:
    assert check_addresses("hooks.example.com", [PUBLIC_V4, "::ffff:8.8.8.8", PUBLIC_V6]) == (
        PUBLIC_V4,
        "8.8.8.8",
        PUBLIC_V6,
    )
    assert check_addresses("localhost", ["127.0.0.1"], allow_private=True) == ("127.0.0.1",)
    with pytest.raises(UnsafeUrl):
        check_addresses("localhost", ["127.0.0.1"])


# --- the address tables -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0x7f.0x0.0x0.0x1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("10.0x10203", "10.1.2.3"),
        ("192.168.0x101", "192.168.1.1"),
        ("0", "0.0.0.0"),  # noqa: S104
        ("4294967295", "255.255.255.255"),
        ("8.8.8.8", "8.8.8.8"),
    ],
)
def test_legacy_ipv4_spellings_read_like_inet_aton(spelling: str, address: str) -> None:
    assert str(legacy_ipv4(spelling)) == address


@pytest.mark.parametrize("name", ["example.com", "0x7f.example.com", "1password.com", "123.example"])
def test_names_that_merely_contain_numbers_are_names(name: str) -> None:
    assert legacy_ipv4(name) is None


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", PUBLIC_V4, PUBLIC_V6, "2a00:1450:4001:80b::200e"])
def test_public_addresses_have_no_blocked_reason(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None


def test_everything_the_stdlib_calls_non_global_is_blocked() -> None:
    """Our explicit tables are at least as strict as `ipaddress.is_global` of whichever Python runs this
    (3.11-3.13 differ among themselves), over a deterministic sample and every stdlib special network."""
    rng = random.Random(20261123)
    samples: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [
        ipaddress.IPv4Address(rng.getrandbits(32)) for _ in range(20_000)
    ]
    samples += [ipaddress.IPv6Address(rng.getrandbits(128)) for _ in range(5_000)]
    samples += [
        ipaddress.IPv6Address((0x2000 + rng.getrandbits(13)) << 112 | rng.getrandbits(112))
        for _ in range(5_000)
    ]
    for name in ("_IPv4Constants", "_IPv6Constants"):
        table = getattr(ipaddress, name, None)
        for attr in ("_private_networks", "_reserved_network", "_multicast_network", "_linklocal_network"):
            value = getattr(table, attr, None)
            for network in value if isinstance(value, list) else [value] if value is not None else []:
                samples += [network.network_address, network.broadcast_address]
    for address in samples:
        if not address.is_global or address.is_multicast or address.is_reserved:
            assert blocked_reason(address) is not None, address


@pytest.mark.parametrize("address", ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"])
def test_only_loopback_is_let_through_for_local_development(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address), allow_loopback=True) is None


@pytest.mark.parametrize(
    "address",
    ["10.0.0.1", "169.254.169.254", "0.0.0.0", "fd00::1", "fe80::1", "::"],  # noqa: S104
)
def test_other_private_addresses_stay_blocked_for_local_development(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address), allow_loopback=True) is not None


# Non-global networks in the stdlib tables of Python 3.11 to 3.13 (3.12.4+ added 64:ff9b:1::/48,
# 2002::/16 and 3fff::/20), so the answer here does not depend on which Python runs this.
STDLIB_NON_GLOBAL = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::1/128",
    "::/128",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/23",
    "2001:db8::/32",
    "2002::/16",
    "3fff::/20",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
]


@pytest.mark.parametrize("network", STDLIB_NON_GLOBAL)
def test_every_network_any_supported_python_calls_non_global_is_blocked(network: str) -> None:
    net = ipaddress.ip_network(network)
    rng = random.Random(network)
    inner = [net.network_address + rng.randrange(net.num_addresses) for _ in range(200)]
    for address in [net.network_address, net.broadcast_address, *inner]:
        assert blocked_reason(address) is not None, address
