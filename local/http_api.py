"""The local HTTP API: a threaded HTTP/1.1 (keep-alive) server on loopback that turns requests into
payload format 2.0 events for the functions' warm workers (see `local.gateway`)."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local import gateway, lambda_api, settings
from local.workers import InvokeResult, LogSink

Invoker = Callable[[str, dict[str, Any], str], InvokeResult]
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    api: ApiServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-request is routine, not a traceback on the console.
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "leadhub-local"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # access lines are written by ApiServer, with credentials in the path masked

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a malformed request line, oversized headers, ...) in JSON like the
        rest of the API, instead of its HTML page."""
        self.close_connection = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        raw_path = (getattr(self, "path", "") or "").partition("?")[0]
        shown = self.server.api.loggable_path(raw_path) if raw_path else "-"
        self._send(gateway.json_response(code, {"message": phrase}), shown, time.monotonic())

    def __getattr__(self, name: str) -> Any:
        # http.server looks up do_<METHOD> and answers an HTML 501 when there is none; API Gateway serves
        # only HTTP_API_METHODS, and other methods (TRACE, CONNECT, PROPFIND, ...) get a JSON 405.
        if name.startswith("do_"):
            return self._method_not_allowed
        raise AttributeError(name)

    def _method_not_allowed(self) -> None:
        self.close_connection = True  # its body, if any, is not read
        shown = self.server.api.loggable_path(self.path.partition("?")[0])
        self._send(gateway.method_not_allowed(), shown, time.monotonic())

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            return None
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        started = time.monotonic()
        raw_path, _, raw_query = self.path.partition("?")
        if raw_path.startswith(("http://", "https://")):  # absolute-form request target
            raw_path = "/" + raw_path.split("/", 3)[3] if raw_path.count("/") >= 3 else "/"
        shown = self.server.api.loggable_path(raw_path or "/")
        try:
            body = self._read_body()
        except ValueError:
            self._send(gateway.json_response(400, {"message": "Bad Request"}), shown, started)
            return
        if body is None:
            self.close_connection = True
            self._send(gateway.json_response(413, {"message": "Request Entity Too Large"}), shown, started)
            return
        request = gateway.HttpRequest(
            method=self.command,
            raw_path=raw_path or "/",
            raw_query=raw_query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        self._send(self.server.api.handle(request), shown, started)

    def _send(self, response: gateway.HttpResponse, shown_path: str, started: float) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                self.send_header(name, value)
        if self.close_connection:  # tell keep-alive clients not to reuse a connection we close
            self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)
        self.server.api.access_log(self.command or "-", shown_path, response.status, started)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class ApiServer:
    """Binds at construction (so the port is known before functions start), serves on `start()`."""

    def __init__(
        self,
        router: gateway.Router | None,
        invoker: Invoker | None,
        *,
        api_ids: Mapping[str, str] | None = None,
        port: int = settings.DEFAULT_HTTP_PORT,
        host: str = settings.LOOPBACK,
        sink: LogSink | None = None,
        access_log: bool = True,
    ) -> None:
        self.router = router
        self.invoker = invoker
        self.api_ids = dict(api_ids or {})
        # Function name or logical id -> logical id, for Lambda's Invoke API (`local.lambda_api`).
        self.functions: dict[str, str] = {}
        self.sink = sink or LogSink()
        self.access_log_enabled = access_log
        self._server = _Server((host, port), _Handler, bind_and_activate=True)
        self._server.api = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{settings.LOOPBACK}:{self.port}"

    def start(self) -> None:
        if self.router is None or self.invoker is None:
            raise RuntimeError("ApiServer needs a router and an invoker before it starts")
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="http-api", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()

    def loggable_path(self, raw_path: str) -> str:
        """The path for the access log, credentials masked (see gateway.loggable_path)."""
        routes = self.router.routes_for_path(raw_path) if self.router is not None else []
        return gateway.loggable_path(raw_path, routes)

    def handle(self, request: gateway.HttpRequest) -> gateway.HttpResponse:
        assert self.router is not None and self.invoker is not None
        function = lambda_api.invoked_function(request)
        if function is not None:
            return lambda_api.handle_invoke(request, function, self.functions, self.invoker)
        match = self.router.match(request.method, request.raw_path)
        if match is None:
            return gateway.not_found()
        request_id = gateway.new_request_id()
        api_id = self.api_ids.get(match.route.target) or gateway.fake_api_id("ServerlessHttpApi")
        event = gateway.build_event(request, match, api_id=api_id, request_id=request_id)
        result = self.invoker(match.route.target, event, request_id)
        try:
            response = gateway.map_invocation(result.ok, result.result, result.timed_out)
        except gateway.MalformedResponse as exc:
            self.sink.write(
                "api", f"{match.route.route_key}: malformed Lambda response ({exc}); answering 500"
            )
            response = gateway.internal_error()
        if not result.ok and not result.timed_out:
            self.sink.write(
                "api",
                f"{match.route.route_key}: {(result.error or {}).get('errorType')}: {result.error_message}",
            )
        if response.header("apigw-requestid") is None:
            response.headers.append(("Apigw-Requestid", request_id))
        return response

    def access_log(self, method: str, shown_path: str, status: int, started: float) -> None:
        """One line per request: `POST /api/webhooks/leads/… -> 201 (12.0 ms)` (see loggable_path)."""
        if self.access_log_enabled:
            elapsed = (time.monotonic() - started) * 1000
            self.sink.write("api", f"{method} {shown_path} -> {status} ({elapsed:.1f} ms)")
