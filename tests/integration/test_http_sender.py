"""The pinned webhook sender against real HTTP(S) servers on loopback, scripted per test."""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import socket
import ssl
import struct
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from leadhub.outbound.adapters import pinned_http_sender as http_sender
from leadhub.outbound.adapters.dns_resolver import SystemResolver
from leadhub.outbound.adapters.pinned_http_sender import PinnedHttpSender
from leadhub.outbound.ports import MAX_SNIPPET_BYTES, HttpErrorClass, SafeTarget, UnresolvableHost
from leadhub.outbound.url_safety import DEFAULT_USER_AGENT, check_webhook_url
from local.loopback_server import LoopbackHTTPServer

Behaviour = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A loopback HTTP server; `behaviour` answers each request, `seen` records them."""

    server: ThreadingHTTPServer
    behaviour: Behaviour
    seen: list[SeenRequest] = field(default_factory=list)
    connections: int = 0

    @property
    def port(self) -> int:
        return self.server.server_address[1]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse is exercised
    receiver: Receiver

    def setup(self) -> None:
        super().setup()
        self.server.receiver.connections += 1  # type: ignore[attr-defined]

    def do_POST(self) -> None:
        receiver: Receiver = self.server.receiver  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        receiver.seen.append(
            SeenRequest("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        receiver.behaviour(self)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


def respond(
    status: int, body: bytes = b"", headers: dict[str, str] | None = None, delay_s: float = 0
) -> Behaviour:
    def behaviour(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(delay_s)
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        try:
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the sender hangs up after the first KiB: expected

    return behaviour


def reset_connection(handler: BaseHTTPRequestHandler) -> None:
    # SO_LINGER 0: close() sends a TCP RST instead of a FIN.
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()
    handler.close_connection = True


def drip_headers(handler: BaseHTTPRequestHandler) -> None:
    """Each byte arrives well within a read timeout, but the response never completes in time."""
    try:
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(0.1)
    except OSError:
        pass
    handler.close_connection = True


@pytest.fixture
def start_receiver() -> Iterator[Callable[..., Receiver]]:
    servers: list[ThreadingHTTPServer] = []

    def start(
        behaviour: Behaviour, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None, port: int = 0
    ) -> Receiver:
        server = LoopbackHTTPServer((host, port), _Handler)
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        receiver = Receiver(server, behaviour)
        server.receiver = receiver  # type: ignore[attr-defined]
        server.serve_in_background(poll_interval=0.05)
        servers.append(server)
        return receiver

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


class FakeResolver:
    def __init__(self, *answers: list[str]) -> None:
        self._answers = list(answers)  # one per look-up; the last one repeats
        self.lookups: list[str] = []

    def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        return list(self._answers.pop(0) if len(self._answers) > 1 else self._answers[0])


LOOPBACK = FakeResolver(["127.0.0.1"])


def loopback_target(receiver: Receiver, path: str = "/hook", host: str = "127.0.0.1") -> SafeTarget:
    return check_webhook_url(f"http://{host}:{receiver.port}{path}", LOOPBACK, allow_private=True)


def post(
    target: SafeTarget, *, timeout_s: float = 5.0, sender: PinnedHttpSender | None = None, **headers: str
):
    sender = sender or PinnedHttpSender()
    return sender.post(
        target, b'{"event":"lead.created"}', {"Content-Type": "application/json", **headers}, timeout_s
    )


# --- statuses ----------------------------------------------------------------------------------------


def test_a_2xx_is_reported_with_headers_snippet_and_duration(start_receiver) -> None:
    receiver = start_receiver(respond(202, b"accepted", {"X-Request-Id": "r-1"}))
    outcome = post(loopback_target(receiver), **{"webhook-id": "dlv_1"})
    assert (outcome.status, outcome.error_class, outcome.body_snippet) == (202, None, b"accepted")
    assert outcome.succeeded
    assert outcome.headers["x-request-id"] == "r-1"  # names lower-cased
    assert outcome.remote_address == "127.0.0.1"
    assert 0 < outcome.duration_ms < 5000
    [seen] = receiver.seen
    assert (seen.path, seen.body) == ("/hook", b'{"event":"lead.created"}')
    assert seen.headers["user-agent"] == DEFAULT_USER_AGENT
    assert seen.headers["webhook-id"] == "dlv_1"
    assert seen.headers["content-type"] == "application/json"


def test_a_500_is_an_outcome_not_an_exception(start_receiver) -> None:
    outcome = post(loopback_target(start_receiver(respond(500, b"boom"))))
    assert (outcome.status, outcome.body_snippet, outcome.succeeded) == (500, b"boom", False)


def test_a_redirect_is_reported_and_never_followed(start_receiver) -> None:
    elsewhere = start_receiver(respond(200))
    location = f"http://127.0.0.1:{elsewhere.port}/stolen"
    receiver = start_receiver(respond(308, headers={"Location": location}))
    outcome = post(loopback_target(receiver))
    assert outcome.status == 308
    assert outcome.headers["location"] == location
    assert elsewhere.seen == []


def test_only_the_first_kib_of_a_large_body_is_read(start_receiver) -> None:
    outcome = post(loopback_target(start_receiver(respond(200, b"x" * 5_000_000))))
    assert outcome.status == 200
    assert outcome.body_snippet == b"x" * MAX_SNIPPET_BYTES


def test_custom_headers_cannot_replace_host_or_framing(start_receiver) -> None:
    receiver = start_receiver(respond(204))
    post(loopback_target(receiver), Host="internal.example", **{"Content-Length": "1", "User-Agent": "CRM/2"})
    [seen] = receiver.seen
    assert seen.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert seen.headers["content-length"] == str(len(seen.body))
    assert seen.headers["user-agent"] == "CRM/2"  # the endpoint's own headers may set the agent


# --- failures ----------------------------------------------------------------------------------------


def test_a_slow_server_is_a_timeout(start_receiver) -> None:
    outcome = post(loopback_target(start_receiver(respond(200, delay_s=2))), timeout_s=0.3)
    assert (outcome.status, outcome.error_class) == (None, HttpErrorClass.TIMEOUT)
    assert outcome.duration_ms < 1500


def test_the_timeout_bounds_the_whole_request_not_each_read(start_receiver) -> None:
    started = time.monotonic()
    outcome = post(loopback_target(start_receiver(drip_headers)), timeout_s=0.5)
    assert outcome.error_class == HttpErrorClass.TIMEOUT
    assert time.monotonic() - started < 1.5


def test_a_connection_reset_is_reset(start_receiver) -> None:
    outcome = post(loopback_target(start_receiver(reset_connection)))
    assert (outcome.status, outcome.error_class) == (None, HttpErrorClass.RESET)


def test_nothing_listening_is_a_connect_error(start_receiver) -> None:
    receiver = start_receiver(respond(200))
    target = loopback_target(receiver)
    receiver.server.shutdown()
    receiver.server.server_close()
    outcome = post(target)
    assert (outcome.status, outcome.error_class) == (None, HttpErrorClass.CONNECT_ERROR)


# --- pinning (the checks at every send, rebinding included, are the caller's: tests/unit/test_delivery.py)


def test_the_connection_goes_to_the_checked_address_with_the_real_host_header(start_receiver) -> None:
    # The receiver listens on 127.0.0.2 only: had the client resolved "localhost" itself (127.0.0.1) it
    # would have found nothing there.
    receiver = start_receiver(respond(200), host="127.0.0.2")
    resolver = FakeResolver(["127.0.0.2"])
    target = check_webhook_url(f"http://localhost:{receiver.port}/in", resolver, allow_private=True)
    outcome = post(target)
    assert (outcome.status, outcome.remote_address) == (200, "127.0.0.2")
    assert receiver.seen[0].headers["host"] == f"localhost:{receiver.port}"
    assert resolver.lookups == ["localhost"]  # by the check; the sender resolves nothing itself


def test_a_send_connects_nowhere_but_to_a_checked_address(start_receiver) -> None:
    receiver = start_receiver(respond(200))
    unchecked = dataclasses.replace(loopback_target(receiver), addresses=())
    assert post(unchecked).error_class == HttpErrorClass.CONNECT_ERROR
    assert receiver.connections == 0

    # Nor over a kept-alive connection that a send to another checked address (same name) left behind.
    assert post(loopback_target(receiver)).status == 200
    elsewhere = dataclasses.replace(loopback_target(receiver), addresses=("127.0.0.3",))  # nothing there
    outcome = post(elsewhere)
    assert (outcome.status, outcome.error_class) == (None, HttpErrorClass.CONNECT_ERROR)
    assert (receiver.connections, len(receiver.seen)) == (1, 1)


def test_a_name_with_several_addresses_is_sent_to_the_next_when_one_refuses(start_receiver) -> None:
    receiver = start_receiver(respond(200), host="127.0.0.2")
    resolver = FakeResolver(["127.0.0.3", "127.0.0.2"])  # nothing listens on 127.0.0.3
    target = check_webhook_url(f"http://localhost:{receiver.port}/in", resolver, allow_private=True)
    outcome = post(target)
    assert (outcome.status, outcome.remote_address) == (200, "127.0.0.2")
    assert len(receiver.seen) == 1


def test_a_kept_alive_connection_serves_only_a_pin_holding_its_address(start_receiver) -> None:
    # One name, one pool ("localhost:port"); its address moves from 127.0.0.1 to 127.0.0.2 (same port).
    old = start_receiver(respond(200))
    new = start_receiver(respond(200), host="127.0.0.2", port=old.port)
    url = f"http://localhost:{old.port}/hook"

    assert post(check_webhook_url(url, FakeResolver(["127.0.0.1"]), allow_private=True)).status == 200
    moved = post(check_webhook_url(url, FakeResolver(["127.0.0.2"]), allow_private=True))

    assert (moved.status, moved.remote_address) == (200, "127.0.0.2")
    assert (len(old.seen), len(new.seen)) == (1, 1)  # not sent on the kept-alive connection to the old one


def test_a_cold_batch_creates_one_shared_tls_context(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[ssl.SSLContext] = []

    def counted_ssl_context() -> ssl.SSLContext:
        created.append(ssl.create_default_context())
        time.sleep(0.05)  # loading the CA store takes a while: the other threads ask meanwhile
        return created[-1]

    monkeypatch.setattr(http_sender, "_shared_tls", None)
    monkeypatch.setattr(http_sender, "_create_tls_context", counted_ssl_context)
    with ThreadPoolExecutor(10) as pool:
        contexts = list(pool.map(lambda _: http_sender._default_tls_context(), range(10)))
    assert len(created) == 1 and all(c is contexts[0] for c in contexts)


def test_kept_alive_connections_are_reused_and_concurrent_sends_do_not_serialise(start_receiver) -> None:
    receiver = start_receiver(respond(200, b"ok", delay_s=0.1))
    target = loopback_target(receiver)
    assert post(target).status == 200
    assert post(target).status == 200
    assert receiver.connections == 1

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(lambda _: post(target), range(10)))
    assert [o.status for o in outcomes] == [200] * 10
    assert time.monotonic() - started < 0.8  # ten 100 ms answers in parallel, not one after the other


# --- TLS: SNI and certificate verification use the real host while the connection is pinned -----------


@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, ssl.SSLContext, list[str]]:
    """(server context with a self-signed cert for hooks.example.com, client context trusting it, SNIs)."""
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.example.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hooks.example.com")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory: Path = tmp_path_factory.mktemp("tls")
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server_names: list[str] = []
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_path, key_path)
    server.sni_callback = lambda _sock, sni, _ctx: server_names.append(sni)  # type: ignore[assignment,misc]
    client = ssl.create_default_context(cafile=str(cert_path))
    return server, client, server_names


def test_tls_to_a_pinned_address_verifies_the_certificate_for_the_real_host(start_receiver, tls_pair) -> None:
    server_tls, client_tls, server_names = tls_pair
    receiver = start_receiver(respond(200, b"secure"), tls=server_tls)
    resolver = FakeResolver(["127.0.0.1"])
    target = check_webhook_url(f"https://hooks.example.com:{receiver.port}/in", resolver, allow_private=True)
    sender = PinnedHttpSender(ssl_context=client_tls)
    outcome = post(target, sender=sender)
    assert (outcome.status, outcome.body_snippet, outcome.remote_address) == (200, b"secure", "127.0.0.1")
    assert server_names[-1] == "hooks.example.com"
    assert receiver.seen[0].headers["host"] == f"hooks.example.com:{receiver.port}"


def test_tls_refuses_a_certificate_for_another_host_at_the_same_address(start_receiver, tls_pair) -> None:
    server_tls, client_tls, _ = tls_pair
    receiver = start_receiver(respond(200), tls=server_tls)
    resolver = FakeResolver(["127.0.0.1"])
    target = check_webhook_url(f"https://other.example.com:{receiver.port}/in", resolver, allow_private=True)
    outcome = post(target, sender=PinnedHttpSender(ssl_context=client_tls))
    assert (outcome.status, outcome.error_class) == (None, HttpErrorClass.TLS_ERROR)
    assert "other.example.com" in (outcome.error_detail or "")
    assert receiver.seen == []


def test_a_kept_alive_tls_connection_serves_only_the_name_it_verified(start_receiver, tls_pair) -> None:
    server_tls, client_tls, _ = tls_pair
    receiver = start_receiver(respond(200), tls=server_tls)
    sender = PinnedHttpSender(ssl_context=client_tls)

    def send_to(name: str):
        url = f"https://{name}:{receiver.port}/in"
        return post(check_webhook_url(url, FakeResolver(["127.0.0.1"]), allow_private=True), sender=sender)

    assert send_to("hooks.example.com").status == 200
    assert send_to("hooks.example.com").status == 200
    assert receiver.connections == 1  # kept alive across sends
    # Same address and port, another name: a connection of its own, whose certificate does not match.
    assert send_to("other.example.com").error_class == HttpErrorClass.TLS_ERROR
    assert len(receiver.seen) == 2


def test_tls_to_an_ip_literal_checks_the_certificate_against_the_ip(start_receiver, tls_pair) -> None:
    server_tls, client_tls, _ = tls_pair
    receiver = start_receiver(respond(200), tls=server_tls)
    target = check_webhook_url(f"https://127.0.0.1:{receiver.port}/in", LOOPBACK, allow_private=True)
    outcome = post(target, sender=PinnedHttpSender(ssl_context=client_tls))
    assert outcome.error_class == HttpErrorClass.TLS_ERROR


# --- the system resolver -------------------------------------------------------------------------------


def test_the_system_resolver_answers_ip_strings_ipv4_first() -> None:
    addresses = SystemResolver().resolve("localhost", 443)
    assert "127.0.0.1" in addresses
    assert all(ipaddress.ip_address(a.split("%")[0]) for a in addresses)
    assert len(addresses) == len(set(addresses))
    versions = [ipaddress.ip_address(a.split("%")[0]).version for a in addresses]
    assert versions == sorted(versions)


def test_the_system_resolver_gives_up_after_its_timeout() -> None:
    def hanging(*_args: object) -> list[tuple[object, ...]]:
        time.sleep(1)
        return []

    started = time.monotonic()
    with pytest.raises(UnresolvableHost, match="timed out"):
        SystemResolver(timeout_s=0.1, getaddrinfo=hanging).resolve("slow.example.com", 443)
    assert time.monotonic() - started < 0.5


def test_a_failed_lookup_is_unresolvable() -> None:
    def failing(*_args: object) -> list[tuple[object, ...]]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(UnresolvableHost):
        SystemResolver(getaddrinfo=failing).resolve("nope.example.com", 443)


def _ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback_available(), reason="no IPv6 loopback here")
def test_an_ipv6_literal_target_is_pinned_to_itself(start_receiver) -> None:
    class V6Server(LoopbackHTTPServer):
        address_family = socket.AF_INET6

    server = V6Server(("::1", 0), _Handler)
    receiver = Receiver(server, respond(200))
    server.receiver = receiver  # type: ignore[attr-defined]
    server.serve_in_background(poll_interval=0.05)
    try:
        target = check_webhook_url(f"http://[::1]:{receiver.port}/v6", LOOPBACK, allow_private=True)
        outcome = post(target)
        assert (outcome.status, outcome.remote_address) == (200, "::1")
        assert receiver.seen[0].headers["host"] == f"[::1]:{receiver.port}"
    finally:
        server.shutdown()
        server.server_close()
