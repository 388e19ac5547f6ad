"""Outbound webhook POSTs that connect only to checked addresses (the `HttpPost` port).

The caller checks the target right before every send (`check_webhook_url`: a fresh DNS answer under the
save-time rules, so a name rebound to a private address is refused) and hands over the `SafeTarget`;
the sender resolves nothing itself and connects only to its addresses. The request keeps the real URL,
so the Host header, TLS SNI and certificate verification all use the real host name, and the connection
pool is keyed by that name. Only the TCP connect is redirected: the connection dials the addresses
pinned for the current request, and a kept-alive connection is used again only by a request whose pin
holds the address it is connected to. Redirects are never followed, proxies are never used, the
request's total deadline bounds everything (a watchdog shuts the connection down when it passes, so a
server dripping its answer byte by byte cannot hold a sender), and at most MAX_SNIPPET_BYTES of the
response body are read.

urllib3 (botocore's HTTP stack, loaded anyway) rather than httpx: importing httpx and building its
client cost ~90 ms of the delivery worker's cold start; urllib3 builds the one shared TLS context
(system CA store) on the first HTTPS connection.
"""

from __future__ import annotations

import contextlib
import contextvars
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from leadhub.outbound.ports import MAX_SNIPPET_BYTES, HttpErrorClass, HttpOutcome, SafeTarget
from leadhub.outbound.url_safety import DEFAULT_USER_AGENT

MAX_CONNECTIONS_PER_HOST = 20  # kept alive per host; a busier host gets extra ones, closed after use
MAX_HOSTS = 100  # host pools kept
# Set by us, never by the caller's custom headers.
_MANAGED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "accept-encoding"})
_MAX_DETAIL_CHARS = 200
_READ_CHUNK = 1024


class _Pin:
    """Where the current request may connect, when it must be over, and the sockets it is using (shut
    down by the watchdog at the deadline)."""

    __slots__ = ("addresses", "deadline", "expired", "host", "sockets")

    def __init__(self, host: str, addresses: tuple[str, ...], deadline: float) -> None:
        self.host = host
        self.addresses = addresses
        self.deadline = deadline  # time.monotonic()
        self.expired = False
        self.sockets: list[socket.socket] = []

    def remaining(self) -> float:
        return max(self.deadline - time.monotonic(), 0.001)

    def expire(self) -> None:
        self.expired = True
        for sock in list(self.sockets):
            # socket.socket's own shutdown: for TLS, SSLSocket's would also drop its TLS state.
            with contextlib.suppress(OSError):  # closed meanwhile, or detached by the TLS wrapping
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


# Per request (contextvars are per thread), so concurrent sends from a thread pool never share a pin.
_current_pin: contextvars.ContextVar[_Pin | None] = contextvars.ContextVar("leadhub_http_pin", default=None)


def _pin_for(connection: HTTPConnection) -> _Pin:
    pin = _current_pin.get()
    if pin is None or pin.host != connection.host.strip("[]"):
        raise NewConnectionError(connection, f"no checked address for {connection.host}")
    return pin


class _PinnedConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        pin = _pin_for(self)
        last_error: OSError | None = None
        # A name with several addresses: try the next (also checked) one if one cannot be reached.
        for address in pin.addresses:
            try:
                sock = socket.create_connection((address, self.port), timeout=pin.remaining())
            except TimeoutError as exc:
                raise ConnectTimeoutError(self, f"Connection to {self.host} timed out") from exc
            except OSError as exc:
                last_error = exc
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pin.sockets.append(sock)  # a TLS handshake that outlasts the deadline is cut too
            return sock
        raise NewConnectionError(self, f"Failed to establish a new connection: {last_error}")

    def connect(self) -> None:
        super().connect()
        _pin_for(self).sockets.append(self.sock)  # the TLS socket, once wrapped

    def request(self, *args: Any, **kwargs: Any) -> None:
        pin = _pin_for(self)
        if self.sock is not None:  # kept alive: only for a request whose pin holds its address
            try:
                peer = self.sock.getpeername()[0]
            except OSError:
                peer = None
            if peer not in pin.addresses:
                self.close()  # connects afresh, to a pinned address
            else:
                pin.sockets.append(self.sock)
        super().request(*args, **kwargs)


class _PinnedHTTPSConnection(_PinnedConnection, HTTPSConnection):
    pass


class _PinnedPool(HTTPConnectionPool):
    ConnectionCls = _PinnedConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


_tls_lock = threading.Lock()
_shared_tls: ssl.SSLContext | None = None
_create_tls_context = ssl.create_default_context  # the system CA store


def _default_tls_context() -> ssl.SSLContext:
    """One per execution environment, made on the first HTTPS send. Under a lock: the threads of a cold
    batch all ask at once, and each would load the CA store."""
    global _shared_tls
    with _tls_lock:
        if _shared_tls is None:
            _shared_tls = _create_tls_context()
        return _shared_tls


class _PinnedPools(urllib3.PoolManager):
    def __init__(self, ssl_context: ssl.SSLContext | None) -> None:
        super().__init__(num_pools=MAX_HOSTS, maxsize=MAX_CONNECTIONS_PER_HOST, block=False, retries=False)
        self.pool_classes_by_scheme = {"http": _PinnedPool, "https": _PinnedHTTPSPool}
        self._ssl_context = ssl_context

    def _new_pool(
        self, scheme: str, host: str, port: int, request_context: dict[str, Any] | None = None
    ) -> Any:
        if scheme == "https":
            request_context = dict(request_context or self.connection_pool_kw)
            request_context["ssl_context"] = self._ssl_context or _default_tls_context()
        return super()._new_pool(scheme, host, port, request_context)


_shared_pools: _PinnedPools | None = None
_creating_pools = threading.Lock()


def _default_pools() -> _PinnedPools:
    """One per execution environment, so warm invocations reuse connections."""
    global _shared_pools
    with _creating_pools:
        if _shared_pools is None:
            _shared_pools = _PinnedPools(None)
        return _shared_pools


class PinnedHttpSender:
    """Implements `HttpPost`."""

    def __init__(
        self, *, ssl_context: ssl.SSLContext | None = None, user_agent: str = DEFAULT_USER_AGENT
    ) -> None:
        self._ssl_context = ssl_context
        self._user_agent = user_agent
        self._own_pools: _PinnedPools | None = None

    @property
    def _pools(self) -> _PinnedPools:
        if self._ssl_context is None:
            return _default_pools()
        if self._own_pools is None:  # created on first use, like the shared ones
            self._own_pools = _PinnedPools(self._ssl_context)
        return self._own_pools

    def post(
        self, target: SafeTarget, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> HttpOutcome:
        started = time.monotonic()
        pin = _Pin(target.host, target.addresses, started + timeout_s)
        request_headers = {"User-Agent": self._user_agent, "Accept-Encoding": "identity"}
        request_headers |= {k: v for k, v in headers.items() if k.lower() not in _MANAGED_HEADERS}
        watchdog = threading.Timer(timeout_s, pin.expire)
        watchdog.daemon = True
        remote: str | None = None
        complete = False
        with _pinned(pin):
            watchdog.start()
            try:
                response = self._pools.request(
                    "POST",
                    target.url,
                    body=body,
                    headers=request_headers,
                    timeout=urllib3.Timeout(connect=timeout_s, read=timeout_s),
                    redirect=False,
                    retries=False,
                    preload_content=False,
                    decode_content=False,
                )
                try:
                    remote = _remote_address(response)
                    snippet, complete = _read_snippet(response)
                    outcome = HttpOutcome(
                        status=response.status,
                        headers=dict(_joined_headers(response.headers.items())),
                        body_snippet=snippet,
                        duration_ms=_elapsed_ms(started),
                        remote_address=remote,
                    )
                finally:
                    if not complete:  # the rest is never read: the connection cannot be used again
                        response.close()
                    response.release_conn()
                return outcome
            except (HTTPError, OSError) as exc:
                error_class, detail = (
                    (HttpErrorClass.TIMEOUT, "timed out") if pin.expired else classify_error(exc)
                )
                return HttpOutcome(
                    status=None,
                    duration_ms=_elapsed_ms(started),
                    error_class=error_class,
                    error_detail=detail[:_MAX_DETAIL_CHARS],
                    remote_address=remote,
                )
            finally:
                watchdog.cancel()


@contextmanager
def _pinned(pin: _Pin) -> Iterator[None]:
    token = _current_pin.set(pin)
    try:
        yield
    finally:
        _current_pin.reset(token)


def _read_snippet(response: urllib3.BaseHTTPResponse) -> tuple[bytes, bool]:
    """At most MAX_SNIPPET_BYTES of the body, and whether that was all of it."""
    snippet = b""
    while len(snippet) < MAX_SNIPPET_BYTES:
        chunk = response.read(min(_READ_CHUNK, MAX_SNIPPET_BYTES - len(snippet)))
        if not chunk:
            return snippet, True
        snippet += chunk
    return snippet, response.read(1) == b""


def _joined_headers(items: Iterable[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    merged: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return iter(merged.items())


def _remote_address(response: urllib3.BaseHTTPResponse) -> str | None:
    connection = getattr(response, "connection", None)
    sock = getattr(connection, "sock", None)
    try:
        return str(sock.getpeername()[0]) if sock is not None else None
    except OSError:
        return None


def classify_error(exc: BaseException) -> tuple[HttpErrorClass, str]:
    """The delivery-log error class for a failed attempt, with a short description."""
    causes = list(_causes(exc))
    detail = str(exc) or type(exc).__name__
    if any(isinstance(c, ReadTimeoutError | ConnectTimeoutError | TimeoutError) for c in causes) and not any(
        isinstance(c, NewConnectionError) for c in causes
    ):
        return HttpErrorClass.TIMEOUT, "timed out"
    if any(isinstance(c, SSLError | ssl.SSLError | ssl.CertificateError) for c in causes):
        return HttpErrorClass.TLS_ERROR, detail
    if isinstance(exc, NewConnectionError):
        return HttpErrorClass.CONNECT_ERROR, detail
    if any(isinstance(c, http.client.RemoteDisconnected) for c in causes):  # before: it is a reset too
        return HttpErrorClass.RESET, "the server closed the connection without a response"
    if any(isinstance(c, ConnectionResetError | BrokenPipeError | ConnectionAbortedError) for c in causes):
        return HttpErrorClass.RESET, "connection reset by the server"
    if isinstance(exc, ProtocolError):
        return HttpErrorClass.PROTOCOL_ERROR, detail
    return HttpErrorClass.NETWORK_ERROR, detail


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, its causes and contexts, and exceptions carried in its arguments (urllib3's ProtocolError
    carries the socket error that way)."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [a for a in current.args if isinstance(a, BaseException)]
        pending += [c for c in (current.__cause__, current.__context__) if c is not None]


def _elapsed_ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 3)
