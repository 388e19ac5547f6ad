"""Outbound webhook POSTs that connect only to checked addresses (the `HttpPost` port).

The caller checks the target right before every send (`check_webhook_url`: a fresh DNS answer under the
save-time rules, so a name rebound to a private address is refused) and hands over the `SafeTarget`;
the sender resolves nothing itself and connects only to its addresses. The request keeps the real URL,
so the Host header, TLS SNI and certificate verification all use the real host name, and the connection
pool is keyed by that name. Only the TCP connect is redirected: a network backend dials the addresses
pinned for the current request. Redirects are never followed, proxies from the environment are ignored,
every socket operation is bounded by the request's total deadline, and at most MAX_SNIPPET_BYTES of the
response body are read.
"""

from __future__ import annotations

import contextvars
import ssl
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from leadhub.domain.url_safety import (
    DEFAULT_USER_AGENT,
    MAX_SNIPPET_BYTES,
    HttpErrorClass,
    HttpOutcome,
    SafeTarget,
)

POOL_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0)
# Set by us, never by the caller's custom headers.
_MANAGED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "accept-encoding"})
_MAX_DETAIL_CHARS = 200


@dataclass(frozen=True, slots=True)
class _Pin:
    """Where the current request may connect, and when it must be over."""

    host: str
    addresses: tuple[str, ...]
    deadline: float  # time.monotonic()

    def remaining(self, timeout: float | None) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the request's total timeout elapsed")
        return left if timeout is None else min(timeout, left)


# Per request (contextvars are per thread), so concurrent sends from a thread pool never share a pin.
_current_pin: contextvars.ContextVar[_Pin | None] = contextvars.ContextVar("leadhub_http_pin", default=None)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose reads and writes never outlast the deadline of the request using it, and which
    only a checked request may use (a kept-alive connection is not a way around the check)."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def _timeout(self, timeout: float | None, unpinned: type[httpcore.NetworkError]) -> float:
        pin = _current_pin.get()
        if pin is None:
            raise unpinned("no checked address for this request")
        return pin.remaining(timeout)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._timeout(timeout, httpcore.ReadError))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._timeout(timeout, httpcore.WriteError))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(
            ssl_context, server_hostname, self._timeout(timeout, httpcore.ConnectError)
        )
        return _DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Dials the addresses checked for the current request; refuses any connection without a pin."""

    def __init__(self) -> None:
        self._system = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        pin = _current_pin.get()
        if pin is None or pin.host != host.strip("[]"):
            raise httpcore.ConnectError(f"no checked address for {host}")
        last_error: Exception | None = None
        # A name with several addresses: try the next (also checked) one if one cannot be reached.
        for address in pin.addresses:
            try:
                stream = self._system.connect_tcp(
                    address, port, pin.remaining(timeout), local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                last_error = exc
                continue
            return _DeadlineStream(stream)
        raise last_error or httpcore.ConnectError(f"no address to connect to for {host}")

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not webhook targets")

    def sleep(self, seconds: float) -> None:
        self._system.sleep(seconds)


class _PinnedTransport(httpx.HTTPTransport):
    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, trust_env=False, http1=True, http2=False, limits=POOL_LIMITS)
        # httpx does not expose the network backend; the pool is rebuilt with the same settings plus ours.
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=POOL_LIMITS.max_connections,
            max_keepalive_connections=POOL_LIMITS.max_keepalive_connections,
            keepalive_expiry=POOL_LIMITS.keepalive_expiry,
            http1=True,
            http2=False,
            retries=0,
            network_backend=_PinnedBackend(),
        )


def _new_client(ssl_context: ssl.SSLContext) -> httpx.Client:
    return httpx.Client(
        transport=_PinnedTransport(ssl_context), follow_redirects=False, trust_env=False, timeout=15.0
    )


_shared_client: httpx.Client | None = None
_creating_client = threading.Lock()


def _default_client() -> httpx.Client:
    """One client per execution environment, so warm invocations reuse connections. Created under a
    lock: the threads of a cold batch all ask for it at once, and each would load the CA bundle."""
    global _shared_client
    with _creating_client:
        if _shared_client is None:
            _shared_client = _new_client(httpx.create_ssl_context())
        return _shared_client


class PinnedHttpSender:
    """Implements `HttpPost`."""

    def __init__(
        self, *, ssl_context: ssl.SSLContext | None = None, user_agent: str = DEFAULT_USER_AGENT
    ) -> None:
        self._ssl_context = ssl_context
        self._user_agent = user_agent
        self._own_client: httpx.Client | None = None

    @property
    def _client(self) -> httpx.Client:
        if self._ssl_context is None:
            return _default_client()
        if self._own_client is None:  # created on first use, like the shared one
            self._own_client = _new_client(self._ssl_context)
        return self._own_client

    def post(
        self, target: SafeTarget, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> HttpOutcome:
        started = time.monotonic()
        deadline = started + timeout_s

        def outcome(error_class: HttpErrorClass, detail: str, remote: str | None = None) -> HttpOutcome:
            return HttpOutcome(
                status=None,
                duration_ms=_elapsed_ms(started),
                error_class=error_class,
                error_detail=detail[:_MAX_DETAIL_CHARS],
                remote_address=remote,
            )

        request_headers = {"User-Agent": self._user_agent, "Accept-Encoding": "identity"}
        request_headers |= {k: v for k, v in headers.items() if k.lower() not in _MANAGED_HEADERS}
        remote: str | None = None
        with _pinned(_Pin(target.host, target.addresses, deadline)):
            try:
                timeout = httpx.Timeout(max(deadline - time.monotonic(), 0.001))
                with self._client.stream(
                    "POST", target.url, content=body, headers=request_headers, timeout=timeout
                ) as response:
                    remote = _remote_address(response)
                    snippet = _read_snippet(response.iter_raw())
                    return HttpOutcome(
                        status=response.status_code,
                        headers={k.lower(): v for k, v in _joined_headers(response.headers.multi_items())},
                        body_snippet=snippet,
                        duration_ms=_elapsed_ms(started),
                        remote_address=remote,
                    )
            except httpx.HTTPError as exc:
                error_class, detail = classify_error(exc)
                return outcome(error_class, detail, remote)


@contextmanager
def _pinned(pin: _Pin) -> Iterator[None]:
    token = _current_pin.set(pin)
    try:
        yield
    finally:
        _current_pin.reset(token)


def _read_snippet(chunks: Iterator[bytes]) -> bytes:
    """At most MAX_SNIPPET_BYTES of the body; the rest is never read (the connection is dropped)."""
    snippet = b""
    for chunk in chunks:
        snippet += chunk[: MAX_SNIPPET_BYTES - len(snippet)]
        if len(snippet) >= MAX_SNIPPET_BYTES:
            break
    return snippet


def _joined_headers(items: list[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    merged: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return iter(merged.items())


def _remote_address(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    server_addr = stream.get_extra_info("server_addr") if stream is not None else None
    return str(server_addr[0]) if server_addr else None


def classify_error(exc: httpx.HTTPError) -> tuple[HttpErrorClass, str]:
    """The delivery-log error class for a failed attempt, with a short description."""
    causes = list(_causes(exc))
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return HttpErrorClass.TIMEOUT, "timed out"
    if any(isinstance(c, ssl.SSLError | ssl.CertificateError) for c in causes):
        return HttpErrorClass.TLS_ERROR, detail
    if any(isinstance(c, ConnectionResetError | BrokenPipeError | ConnectionAbortedError) for c in causes):
        return HttpErrorClass.RESET, "connection reset by the server"
    if isinstance(exc, httpx.ConnectError):
        return HttpErrorClass.CONNECT_ERROR, detail
    if isinstance(exc, httpx.RemoteProtocolError):
        if "disconnected" in detail.lower():
            return HttpErrorClass.RESET, "the server closed the connection without a response"
        return HttpErrorClass.PROTOCOL_ERROR, detail
    return HttpErrorClass.NETWORK_ERROR, detail


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _elapsed_ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 3)
