"""ProviderApi against a real HTTP server on loopback: what it sends, and which answers are answers
(2xx, 3xx, 4xx) and which mean the provider is unavailable (5xx, unreachable, too slow)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from leadhub.channels.adapters.provider_api import ProviderApi
from leadhub.platform.errors import ProviderUnavailable
from local.loopback_server import LoopbackHTTPServer


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int


@dataclass
class Provider:
    """Answers every request with `answer` (status, headers, body, delay) and records it."""

    answer: Callable[[Seen], tuple[int, dict[str, str], bytes, float]]
    seen: list[Seen] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def provider() -> Iterator[Callable[..., Provider]]:
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Callable[[Seen], tuple[int, dict[str, str], bytes, float]]) -> Provider:
        fake = Provider(answer)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                request = Seen(self.command, self.path, headers, body, self.client_address[1])
                fake.seen.append(request)
                status, headers, payload, delay = fake.answer(request)
                time.sleep(delay)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up first

            do_GET = do_POST = do_DELETE = _serve

        server = LoopbackHTTPServer(("127.0.0.1", 0), Handler)
        server.serve_in_background(poll_interval=0.05)
        servers.append(server)
        fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1/"
        return fake

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def json_answer(status: int, payload: Any, delay: float = 0.0) -> Callable[[Seen], tuple]:
    return lambda _: (status, {"Content-Type": "application/json"}, json.dumps(payload).encode(), delay)


def test_a_json_post_sends_body_headers_and_query_and_returns_the_answer(provider) -> None:
    fake = provider(json_answer(200, {"ok": True, "result": {"id": 7}}))

    answer = ProviderApi("Telegram", fake.url).call(
        "POST", "/bot123/sendMessage", json={"text": "Olá"}, params={"a": "1 2"}, headers={"X-Key": "k"}
    )

    assert (answer.status, answer.ok, answer.body) == (200, True, {"ok": True, "result": {"id": 7}})
    (seen,) = fake.seen
    assert (seen.method, seen.path) == ("POST", "/v1/bot123/sendMessage?a=1+2")
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["x-key"] == "k"
    assert json.loads(seen.body) == {"text": "Olá"}


def test_a_get_sends_no_body(provider) -> None:
    fake = provider(json_answer(200, {"id": "e1"}))

    answer = ProviderApi("Resend", fake.url).call("GET", "/emails/receiving/e1")

    assert answer.body == {"id": "e1"}
    assert (fake.seen[0].method, fake.seen[0].body, "content-type" in fake.seen[0].headers) == (
        "GET",
        b"",
        False,
    )


@pytest.mark.parametrize("status", [400, 401, 403, 404, 429])
def test_a_4xx_is_an_answer_with_its_body(provider, status: int) -> None:
    fake = provider(json_answer(status, {"description": "Bad Request: chat not found"}))

    answer = ProviderApi("Telegram", fake.url).call("POST", "/x", json={})

    assert (answer.status, answer.ok, answer.body) == (
        status,
        False,
        {"description": "Bad Request: chat not found"},
    )


def test_a_redirect_is_an_answer_and_never_followed(provider) -> None:
    fake = provider(lambda _: (302, {"Location": "http://127.0.0.1:1/elsewhere"}, b"", 0.0))

    answer = ProviderApi("Graph API", fake.url).call("POST", "/x", json={})

    assert (answer.status, answer.body, len(fake.seen)) == (302, {}, 1)


@pytest.mark.parametrize("payload", [b"<html>oops</html>", b"[1, 2]", b""])
def test_a_body_that_is_not_a_json_object_reads_as_empty(provider, payload: bytes) -> None:
    fake = provider(lambda _: (200, {"Content-Type": "text/html"}, payload, 0.0))

    assert ProviderApi("Resend", fake.url).call("GET", "/x").body == {}


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_means_the_provider_is_unavailable(provider, status: int) -> None:
    fake = provider(json_answer(status, {"error": "internal"}))

    with pytest.raises(ProviderUnavailable, match=f"Graph API answered HTTP {status}; try again later"):
        ProviderApi("Graph API", fake.url).call("POST", "/x", json={})


def test_nothing_listening_means_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there

    with pytest.raises(ProviderUnavailable, match=r"Resend could not be reached \(\w+\)"):
        ProviderApi("Resend", f"http://127.0.0.1:{port}").call("GET", "/x")


def test_a_provider_slower_than_the_timeout_is_unavailable(provider) -> None:
    fake = provider(json_answer(200, {"ok": True}, delay=2.0))
    started = time.monotonic()

    with pytest.raises(ProviderUnavailable, match=r"Telegram could not be reached \(ReadTimeoutError\)"):
        ProviderApi("Telegram", fake.url, timeout=0.3).call("POST", "/x", json={})
    assert time.monotonic() - started < 1.5


def test_connections_are_kept_alive_between_calls(provider) -> None:
    fake = provider(json_answer(200, {}))
    api = ProviderApi("Graph API", fake.url)

    for _ in range(3):
        api.call("POST", "/x", json={})

    assert len({seen.client_port for seen in fake.seen}) == 1, "every call opened a connection of its own"
