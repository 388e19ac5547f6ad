"""Outbound webhook POSTs that connect only to checked addresses (the `HttpPost` port).

The caller checks the target right before every send (`check_webhook_url`: a fresh DNS answer under the
save-time rules, so a name rebound to a private address is refused) and hands over the `SafeTarget`;
the sender resolves nothing itself. Pinning uses urllib3's public API alone: each connection pool is
made for one checked address (`HTTPConnectionPool(address, port)`), HTTPS ones with
`server_hostname=<the real name>`, which urllib3 uses for SNI and for certificate verification, and the
request carries the real Host header. Pools are kept per (scheme, address, port, name), so a kept-alive
connection serves only sends pinned to its address, and a TLS connection only the name its certificate
was verified for. Redirects are never followed, proxies never used, the request's total deadline bounds
everything (a watchdog shuts the connection down when it passes, so a server dripping its answer byte by
byte cannot hold a sender), and at most MAX_SNIPPET_BYTES of the response body are read.

urllib3 (botocore's HTTP stack, loaded anyway) rather than httpx: importing httpx and building its
client cost ~90 ms of the delivery worker's cold start; urllib3 builds the one shared TLS context
(system CA store) on the first HTTPS send.
"""

from __future__ import annotations

import contextlib
import contextvars
import http.client
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
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

MAX_CONNECTIONS_PER_POOL = (
    20  # kept alive per (address, port, name); a busier one gets extra, closed after use
)
MAX_POOLS = 100  # (address, port, name) pools kept; the least recently used is closed beyond
# Set by us, never by the caller's custom headers.
_MANAGED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "accept-encoding"})
_MAX_DETAIL_CHARS = 200
_READ_CHUNK = 1024


class _Deadline:
    """When the current send must be over, and the connections it uses (shut down when it passes)."""

    __slots__ = ("_finished", "_lock", "at", "connections", "expired")

    def __init__(self, at: float) -> None:
        self.at = at  # time.monotonic()
        self.expired = False
        self.connections: list[HTTPConnection] = []
        self._lock = threading.Lock()
        self._finished = False

    def remaining(self) -> float:
        return max(self.at - time.monotonic(), 0.001)

    def watch(self, connection: HTTPConnection) -> None:
        with self._lock:
            self.connections.append(connection)
            if self.expired:
                _shut_down(connection)

    def expire(self) -> None:
        with self._lock:
            if self._finished:  # the connection may be back in its pool, serving another send
                return
            self.expired = True
            for connection in self.connections:
                _shut_down(connection)

    def finish(self) -> None:
        with self._lock:
            self._finished = True


def _shut_down(connection: HTTPConnection) -> None:
    sock = connection.sock
    # socket.socket's own shutdown: for TLS, SSLSocket's would also drop its TLS state.
    with contextlib.suppress(OSError):  # closed meanwhile
        if sock is not None:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


# Per send (contextvars are per thread), so concurrent sends from a thread pool never share a deadline.
_current_deadline: contextvars.ContextVar[_Deadline | None] = contextvars.ContextVar(
    "leadhub_http_deadline", default=None
)


def _watch(connection: HTTPConnection) -> None:
    deadline = _current_deadline.get()
    if deadline is not None:
        deadline.watch(connection)


class _DeadlineConnection(HTTPConnection):
    """Puts itself under the current send's deadline, once connected and at each request it carries."""

    def connect(self) -> None:
        super().connect()
        _watch(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self)
        super().request(*args, **kwargs)


class _DeadlineHTTPSConnection(_DeadlineConnection, HTTPSConnection):
    pass


class _Pool(HTTPConnectionPool):
    ConnectionCls = _DeadlineConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


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


class _PinnedPools:
    """Connection pools, one per (scheme, checked address, port, host name)."""

    def __init__(self, ssl_context: ssl.SSLContext | None) -> None:
        self._ssl_context = ssl_context
        self._lock = threading.Lock()
        self._pools: OrderedDict[tuple[str, str, int, str], HTTPConnectionPool] = OrderedDict()

    def for_address(self, target: SafeTarget, address: str) -> HTTPConnectionPool:
        key = (target.scheme, address, target.port, target.host)
        tls = (self._ssl_context or _default_tls_context()) if target.scheme == "https" else None
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            options: dict[str, Any] = {"maxsize": MAX_CONNECTIONS_PER_POOL, "block": False, "retries": False}
            if tls is None:
                pool = _Pool(address, target.port, **options)
            else:  # SNI and certificate checks use the name, not the address
                pool = _HTTPSPool(
                    address, target.port, server_hostname=target.host, ssl_context=tls, **options
                )
            self._pools[key] = pool
            if len(self._pools) > MAX_POOLS:
                self._pools.popitem(last=False)[1].close()  # a connection still in use closes when released
            return pool


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
        if not target.addresses:
            return _failed(started, HttpErrorClass.CONNECT_ERROR, "no checked address")
        deadline = _Deadline(started + timeout_s)
        request_headers = {"User-Agent": self._user_agent, "Accept-Encoding": "identity"}
        request_headers |= {k: v for k, v in headers.items() if k.lower() not in _MANAGED_HEADERS}
        request_headers["Host"] = target.host_header
        watchdog = threading.Timer(timeout_s, deadline.expire)
        watchdog.daemon = True
        remote: str | None = None
        complete = False
        token = _current_deadline.set(deadline)
        watchdog.start()
        try:
            response = self._send(target, body, request_headers, deadline)
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
                deadline.finish()
                if not complete:  # the rest is never read: the connection cannot be used again
                    response.close()
                response.release_conn()
            return outcome
        except (HTTPError, OSError) as exc:
            error_class, detail = (
                (HttpErrorClass.TIMEOUT, "timed out") if deadline.expired else classify_error(exc)
            )
            return _failed(started, error_class, detail, remote)
        finally:
            watchdog.cancel()
            _current_deadline.reset(token)

    def _send(
        self, target: SafeTarget, body: bytes, headers: Mapping[str, str], deadline: _Deadline
    ) -> urllib3.BaseHTTPResponse:
        """Sent through the first of the target's checked addresses that takes the connection (a name
        with several addresses: the next, also checked, one when one cannot be reached)."""
        *others, last = target.addresses
        for address in others:
            with contextlib.suppress(NewConnectionError):  # refused or unreachable: nothing was sent
                return self._send_to(address, target, body, headers, deadline)
        return self._send_to(last, target, body, headers, deadline)

    def _send_to(
        self, address: str, target: SafeTarget, body: bytes, headers: Mapping[str, str], deadline: _Deadline
    ) -> urllib3.BaseHTTPResponse:
        remaining = deadline.remaining()
        return self._pools.for_address(target, address).urlopen(
            "POST",
            target.path_and_query,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(connect=remaining, read=remaining),
            redirect=False,
            retries=False,
            preload_content=False,
            decode_content=False,
        )


def _failed(
    started: float, error_class: HttpErrorClass, detail: str, remote: str | None = None
) -> HttpOutcome:
    return HttpOutcome(
        status=None,
        duration_ms=_elapsed_ms(started),
        error_class=error_class,
        error_detail=detail[:_MAX_DETAIL_CHARS],
        remote_address=remote,
    )


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
