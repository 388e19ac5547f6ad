"""local.http_api.ApiServer over real loopback HTTP, with a stand-in invoker for the functions."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

import httpx
import pytest

from local import gateway, http_api
from local.workers import InvokeResult, LogSink

ROUTES = [
    gateway.Route("POST", "/api/webhooks/leads/{token}", "Webhook"),
    gateway.Route("ANY", "/api/{proxy+}", "Management"),
]

Behaviour = Callable[[dict[str, Any]], InvokeResult]


class FakeInvoker:
    """Records every invocation and answers with `behaviour` (an echo of the event by default)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], str]] = []
        self.behaviour: Behaviour | None = None
        self._lock = threading.Lock()

    def __call__(self, target: str, event: dict[str, Any], request_id: str) -> InvokeResult:
        with self._lock:
            self.calls.append((target, event, request_id))
        if self.behaviour is not None:
            return self.behaviour(event)
        return InvokeResult(
            request_id,
            True,
            {"statusCode": 200, "body": json.dumps({"target": target, "path": event["rawPath"]})},
        )

    @property
    def last_event(self) -> dict[str, Any]:
        assert self.calls, "the invoker was not called"
        return self.calls[-1][1]


class Accepted:
    """What `_Handler.setup` left on each accepted socket."""

    def __init__(self) -> None:
        self.nodelay: list[int] = []


@pytest.fixture
def accepted(monkeypatch: pytest.MonkeyPatch) -> Accepted:
    record = Accepted()
    original = http_api._Handler.setup

    def setup(self: http_api._Handler) -> None:
        original(self)
        record.nodelay.append(self.request.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(http_api._Handler, "setup", setup)
    return record


@pytest.fixture
def invoker() -> FakeInvoker:
    return FakeInvoker()


@pytest.fixture
def log() -> io.StringIO:
    return io.StringIO()


@pytest.fixture(scope="module")
def shared_server() -> Iterator[http_api.ApiServer]:
    # One server for the module (stopping one waits for its poll interval); each test plugs in its own
    # invoker and log below.
    api = http_api.ApiServer(
        gateway.Router(ROUTES), FakeInvoker(), api_ids={"Webhook": "webhookapi"}, port=0, sink=LogSink()
    )
    api.start()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture
def server(
    shared_server: http_api.ApiServer,
    accepted: Accepted,
    invoker: FakeInvoker,
    log: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> http_api.ApiServer:
    monkeypatch.setattr(shared_server, "invoker", invoker)
    monkeypatch.setattr(shared_server, "sink", LogSink(log))
    return shared_server


@pytest.fixture
def client(server: http_api.ApiServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http


def test_routes_reach_the_invoker_with_an_api_gateway_event(
    client: httpx.Client, invoker: FakeInvoker, server: http_api.ApiServer
) -> None:
    response = client.post("/api/webhooks/leads/tok123?src=x&src=y", json={"name": "Ann"})
    assert response.status_code == 200
    assert response.json() == {"target": "Webhook", "path": "/api/webhooks/leads/tok123"}
    ((target, event, request_id),) = invoker.calls
    assert target == "Webhook"
    assert event["routeKey"] == "POST /api/webhooks/leads/{token}"
    assert event["pathParameters"] == {"token": "tok123"}
    assert event["rawQueryString"] == "src=x&src=y"
    assert event["queryStringParameters"] == {"src": "x,y"}
    assert event["body"] == '{"name":"Ann"}' and event["isBase64Encoded"] is False
    assert event["headers"]["host"] == f"127.0.0.1:{server.port}"
    assert event["requestContext"]["apiId"] == "webhookapi"
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert event["requestContext"]["http"]["protocol"] == "HTTP/1.1"
    assert event["requestContext"]["requestId"] == request_id
    assert response.headers["apigw-requestid"] == request_id


def test_unlisted_functions_get_a_generated_api_id(client: httpx.Client, invoker: FakeInvoker) -> None:
    client.get("/api/accounts")
    assert invoker.last_event["requestContext"]["apiId"] == gateway.fake_api_id("ServerlessHttpApi")
    assert invoker.last_event["routeKey"] == "ANY /api/{proxy+}"
    assert invoker.last_event["pathParameters"] == {"proxy": "accounts"}


def test_keep_alive_serves_several_requests_on_one_tcp_nodelay_connection(
    client: httpx.Client, accepted: Accepted
) -> None:
    first = client.get("/api/one")
    second = client.post("/api/webhooks/leads/t", content=b"x")
    third = client.get("/nowhere")
    assert [r.status_code for r in (first, second, third)] == [200, 200, 404]
    assert first.headers.get("connection", "").lower() != "close"
    assert len(accepted.nodelay) == 1  # one connection for all three requests
    assert accepted.nodelay[0] != 0


def test_unknown_route_is_a_json_404_without_invoking(client: httpx.Client, invoker: FakeInvoker) -> None:
    for path in ("/", "/api", "/other/thing"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json() == {"message": "Not Found"}
        assert response.headers["content-type"] == "application/json"
    assert client.put("/api/webhooks/leads/t").status_code == 200  # ANY /api/{proxy+} takes PUT
    assert [target for target, _, _ in invoker.calls] == ["Management"]


def test_function_error_is_a_500_and_is_logged(
    client: httpx.Client, invoker: FakeInvoker, log: io.StringIO
) -> None:
    invoker.behaviour = lambda event: InvokeResult(
        "r", False, error={"errorType": "KeyError", "errorMessage": "'pk'"}
    )
    response = client.get("/api/boom")
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    assert "apigw-requestid" in response.headers
    assert "ANY /api/{proxy+}: KeyError: 'pk'" in log.getvalue()


def test_malformed_function_response_is_a_500(
    client: httpx.Client, invoker: FakeInvoker, log: io.StringIO
) -> None:
    invoker.behaviour = lambda event: InvokeResult("r", True, {"statusCode": 200, "body": {"not": "text"}})
    response = client.get("/api/bad")
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    assert "malformed Lambda response" in log.getvalue()


def test_timeout_is_a_503(client: httpx.Client, invoker: FakeInvoker) -> None:
    invoker.behaviour = lambda event: InvokeResult("r", False, timed_out=True)
    response = client.get("/api/slow")
    assert response.status_code == 503
    assert response.json() == {"message": "Service Unavailable"}


def test_body_over_the_limit_is_a_413_without_invoking(
    server: http_api.ApiServer, invoker: FakeInvoker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_api, "MAX_BODY_BYTES", 1024)
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.post("/api/x", content=b"a" * 1024).status_code == 200  # exactly the limit
        response = http.post("/api/x", content=b"a" * 1025)
    assert response.status_code == 413
    assert response.json() == {"message": "Request Entity Too Large"}
    assert response.headers["connection"] == "close"
    assert len(invoker.calls) == 1


def test_client_asking_to_close_gets_connection_close(server: http_api.ApiServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        response = http.get("/api/x", headers={"Connection": "close"})
    assert response.status_code == 200
    assert response.headers["connection"] == "close"


def test_declared_length_over_the_default_limit_is_refused_before_reading(server: http_api.ApiServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/x HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (http_api.MAX_BODY_BYTES + 1)
        )
        reply = b""
        while chunk := sock.recv(65536):  # the server closes the connection after answering
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 413 ")


def test_chunked_request_bodies_are_reassembled(client: httpx.Client, invoker: FakeInvoker) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name":'
        yield b' "Ann", '
        yield b'"notes": "' + b"x" * 5000 + b'"}'

    response = client.post(
        "/api/webhooks/leads/t", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200
    event = invoker.last_event
    assert event["headers"]["transfer-encoding"] == "chunked"
    assert json.loads(event["body"]) == {"name": "Ann", "notes": "x" * 5000}
    assert client.get("/api/after").status_code == 200  # the connection is still in sync


def test_chunked_body_over_the_limit_is_a_413(
    client: httpx.Client, invoker: FakeInvoker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_api, "MAX_BODY_BYTES", 100)
    response = client.post("/api/x", content=iter([b"a" * 60, b"b" * 60]))
    assert response.status_code == 413
    assert invoker.calls == []


def test_bad_chunk_size_is_a_400(server: http_api.ApiServer, invoker: FakeInvoker) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"POST /api/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 400 ")
    assert invoker.calls == []


def test_head_answers_headers_only(client: httpx.Client, invoker: FakeInvoker) -> None:
    invoker.behaviour = lambda event: InvokeResult("r", True, {"statusCode": 200, "body": "twelve bytes"})
    response = client.head("/api/thing")
    assert response.status_code == 200
    assert response.headers["content-length"] == "12"
    assert response.content == b""
    assert invoker.last_event["requestContext"]["http"]["method"] == "HEAD"
    assert client.get("/api/thing").content == b"twelve bytes"  # nothing stray left on the connection


def test_headers_and_cookies_round_trip(client: httpx.Client, invoker: FakeInvoker) -> None:
    invoker.behaviour = lambda event: InvokeResult(
        "r",
        True,
        {
            "statusCode": 201,
            "headers": {"Content-Type": "text/plain", "X-Echo": event["headers"].get("x-custom", "")},
            "cookies": ["session=abc; Path=/; HttpOnly", "theme=dark"],
            "body": "created",
        },
    )
    response = client.get(
        "/api/me", headers=[("X-Custom", "one"), ("X-Custom", "two"), ("Cookie", "a=1; b=2")]
    )
    assert response.status_code == 201
    assert response.text == "created"
    assert response.headers["x-echo"] == "one,two"
    assert response.headers.get_list("set-cookie") == ["session=abc; Path=/; HttpOnly", "theme=dark"]
    assert invoker.last_event["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in invoker.last_event["headers"]


def test_function_supplied_hop_headers_are_not_duplicated(client: httpx.Client, invoker: FakeInvoker) -> None:
    invoker.behaviour = lambda event: InvokeResult(
        "r",
        True,
        {"statusCode": 200, "headers": {"Content-Length": "999", "Connection": "close"}, "body": "ok"},
    )
    response = client.get("/api/x")
    assert response.headers.get_list("content-length") == ["2"]
    assert response.text == "ok"
    assert client.get("/api/y").status_code == 200


def test_form_posts_reach_the_function_as_base64_raw_bytes(
    client: httpx.Client, invoker: FakeInvoker
) -> None:
    response = client.post("/api/webhooks/leads/t", data={"name": "Ann Lee", "phone": "+1 555"})
    assert response.status_code == 200
    event = invoker.last_event
    assert event["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"name=Ann+Lee&phone=%2B1+555"


def test_binary_responses_are_sent_decoded(client: httpx.Client, invoker: FakeInvoker) -> None:
    payload = bytes(range(256))
    invoker.behaviour = lambda event: InvokeResult(
        "r",
        True,
        {
            "statusCode": 200,
            "headers": {"Content-Type": "application/octet-stream"},
            "body": base64.b64encode(payload).decode(),
            "isBase64Encoded": True,
        },
    )
    assert client.get("/api/file").content == payload


def test_function_may_set_its_own_request_id_header(client: httpx.Client, invoker: FakeInvoker) -> None:
    invoker.behaviour = lambda event: InvokeResult(
        "r", True, {"statusCode": 200, "headers": {"Apigw-Requestid": "mine"}}
    )
    response = client.get("/api/x")
    assert response.headers.get_list("apigw-requestid") == ["mine"]


def wait_for_line(log: io.StringIO, text: str) -> str:
    """The server writes a request's access line after sending its response: wait for it."""
    deadline = time.monotonic() + 5
    while text not in log.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    return log.getvalue()


def test_access_log_shows_real_paths_with_the_token_masked(client: httpx.Client, log: io.StringIO) -> None:
    client.post("/api/webhooks/leads/secret-token-value?utm=x", content=b"{}")
    client.get("/api/accounts/current")
    client.get("/nowhere")
    text = wait_for_line(log, "[api] GET /nowhere -> 404")
    assert "[api] POST /api/webhooks/leads/… -> 200" in text
    assert "[api] GET /api/accounts/current -> 200" in text
    assert "secret-token-value" not in text
    assert "utm" not in text  # query strings are never logged


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "BREW"])
def test_methods_api_gateway_does_not_serve_are_a_json_405(
    server: http_api.ApiServer, invoker: FakeInvoker, log: io.StringIO, method: str
) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        response = http.request(method, "/api/webhooks/leads/secret-token-value")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"message": "Method Not Allowed"}
    assert response.headers["allow"] == "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
    assert invoker.calls == []
    assert f"[api] {method} /api/webhooks/leads/… -> 405" in wait_for_line(log, "-> 405")


def test_http_servers_own_refusals_are_json_too(server: http_api.ApiServer, log: io.StringIO) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /api/" + b"x" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414 ")
    assert b"Content-Type: application/json" in head
    assert json.loads(body) == {"message": HTTPStatus.REQUEST_URI_TOO_LONG.phrase}
    assert "[api] - - -> 414" in wait_for_line(log, "-> 414")


def test_server_needs_router_and_invoker_to_start() -> None:
    api = http_api.ApiServer(None, None, port=0)
    try:
        assert api.port > 0  # bound at construction
        with pytest.raises(RuntimeError, match="router and an invoker"):
            api.start()
    finally:
        api.stop()
