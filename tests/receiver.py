"""Customers' webhook receivers on loopback for the tests.

`LoopbackServer` is the HTTP part every receiver shares: each POST is answered with the `Answer` its
callback returns (a status, a delay, or a TCP reset). `Receiver` is the scripted customer endpoint of
the e2e tests: it answers the verification handshake (or, as a catch hook, cannot) and records every
delivery.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from local.loopback_server import LoopbackHTTPServer


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay_s: float = 0.0
    reset: bool = False  # read the request, then drop the connection with a TCP reset


# (lower-cased headers, body, whether the whole body arrived) -> the answer
OnPost = Callable[[dict[str, str], bytes, bool], Answer]


class LoopbackServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 answering POSTs through `on_post`; it starts at once."""

    def __init__(self, on_post: OnPost) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                answer = on_post(headers, body, len(body) == length)
                if answer.delay_s:
                    time.sleep(answer.delay_s)
                if answer.reset:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:  # the client gave up (timeout)
                    self.close_connection = True

        class Server(LoopbackHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # resets and timeouts are the point of some tests

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.serve_in_background()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]  # lower-cased names
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event(self) -> str:
        """The envelope's event; for a rendered payload template (no envelope) the X-Leadhub-Event header."""
        try:
            payload = self.json
        except ValueError:
            payload = None
        if isinstance(payload, dict) and "event" in payload:
            return str(payload["event"])
        return self.headers.get("x-leadhub-event", "None")


class Receiver:
    """`verify=False` refuses the handshake (403); `echo=False` answers it like any other POST, with
    `answer` (a catch hook: it cannot echo the token)."""

    def __init__(
        self, answer: Callable[[Received], Answer] | None = None, *, verify: bool = True, echo: bool = True
    ) -> None:
        self.answer = answer or (lambda _: Answer())
        self.verify = verify
        self.echo = echo
        self.received: list[Received] = []
        self._changed = threading.Condition()
        self._server: LoopbackServer | None = None

    def _reply(self, headers: dict[str, str], body: bytes, _complete: bool) -> Answer:
        item = Received(headers, body, time.monotonic())
        try:
            payload = item.json
        except ValueError:
            payload = {}
        if isinstance(payload, dict) and payload.get("event") == "webhook.verify" and self.echo:
            with self._changed:
                self.received.append(item)
                self._changed.notify_all()
            if not self.verify:
                return Answer(403, body=b"no")
            echo = json.dumps({"verifyToken": payload["verifyToken"]}).encode()
            return Answer(200, {"Content-Type": "application/json"}, echo)
        reply = self.answer(item)
        with self._changed:
            self.received.append(item)
            self._changed.notify_all()
        return reply

    @property
    def url(self) -> str:
        assert self._server is not None
        return self._server.url

    def events(self, name: str) -> list[Received]:
        with self._changed:
            return [r for r in self.received if r.event == name]

    def wait_for(self, name: str, count: int = 1, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len([r for r in self.received if r.event == name]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [r.event for r in self.received]
                    raise AssertionError(f"expected {count} {name} within {timeout}s; received {seen}")
                self._changed.wait(left)
            return [r for r in self.received if r.event == name]

    def __enter__(self) -> Receiver:
        self._server = LoopbackServer(self._reply)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
