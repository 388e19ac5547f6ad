"""A customer's webhook receiver on loopback, scripted per test: it answers the verification
handshake, records every delivery, and answers deliveries as the test says."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


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
        return str(self.json.get("event"))


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"


class Receiver:
    def __init__(self, answer: Callable[[Received], Reply] | None = None, *, verify: bool = True) -> None:
        self.answer = answer or (lambda _: Reply())
        self.verify = verify
        self.received: list[Received] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                item = Received({k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
                reply = receiver._reply(item)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _reply(self, item: Received) -> Reply:
        try:
            payload = item.json
        except ValueError:
            payload = {}
        if isinstance(payload, dict) and payload.get("event") == "webhook.verify":
            with self._changed:
                self.received.append(item)
                self._changed.notify_all()
            if not self.verify:
                return Reply(403, body=b"no")
            return Reply(
                200,
                {"Content-Type": "application/json"},
                json.dumps({"verifyToken": payload["verifyToken"]}).encode(),
            )
        reply = self.answer(item)
        with self._changed:
            self.received.append(item)
            self._changed.notify_all()
        return reply

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

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
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
