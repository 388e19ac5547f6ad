"""API Gateway HTTP API semantics, without any I/O: route matching, payload format 2.0 events and
the mapping of a function's response (or failure) to an HTTP response."""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from local import settings

# Static segments beat {param}s, which beat greedy {proxy+}s; a method beats ANY.
_STATIC, _PARAM, _GREEDY = 2, 1, 0

TEXT_CONTENT_TYPES = ("application/json", "application/xml", "application/javascript")


@dataclass(frozen=True)
class Route:
    method: str  # "GET", ..., or "ANY"
    path: str  # "/items/{id}", "/api/{proxy+}" or "$default"
    target: str  # the function's logical id

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"

    @property
    def segments(self) -> tuple[str, ...]:
        stripped = "" if self.path == "$default" else self.path.strip("/")
        return tuple(stripped.split("/")) if stripped else ()  # "/" has no segments, like its requests

    def specificity(self) -> tuple[tuple[int, ...], int, int]:
        if self.path == "$default":
            return ((), -1, 0)
        kinds = tuple(_segment_kind(segment) for segment in self.segments)
        return (kinds, 1, 0 if self.method == "ANY" else 1)


def _segment_kind(segment: str) -> int:
    if segment.startswith("{") and segment.endswith("+}"):
        return _GREEDY
    if segment.startswith("{") and segment.endswith("}"):
        return _PARAM
    return _STATIC


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    path_parameters: dict[str, str]


class Router:
    """Matches requests like API Gateway HTTP APIs: the most specific route wins."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = sorted(routes, key=Route.specificity, reverse=True)
        keys = [(r.method, r.path) for r in self.routes]
        duplicates = {key for key in keys if keys.count(key) > 1}
        if duplicates:
            raise ValueError(f"routes declared more than once: {sorted(duplicates)}")

    def match(self, method: str, raw_path: str) -> RouteMatch | None:
        method = method.upper()
        segments = _path_segments(raw_path)
        for route in self.routes:
            if route.method not in ("ANY", method):
                continue
            if route.path == "$default":
                return RouteMatch(route, {})
            params = _match_segments(route.segments, segments)
            if params is not None:
                return RouteMatch(route, params)
        return None

    def routes_for_path(self, raw_path: str) -> list[Route]:
        """The routes of any method whose path matches (`$default` aside)."""
        segments = _path_segments(raw_path)
        return [
            route
            for route in self.routes
            if route.path != "$default" and _match_segments(route.segments, segments) is not None
        ]


def _path_segments(raw_path: str) -> list[str]:
    return raw_path.strip("/").split("/") if raw_path.strip("/") else []


def _match_segments(pattern: Sequence[str], segments: Sequence[str]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for index, part in enumerate(pattern):
        kind = _segment_kind(part)
        if kind == _GREEDY:
            rest = segments[index:]
            if not rest or not any(rest):
                return None
            params[part[1:-2]] = unquote("/".join(rest))
            return params
        if index >= len(segments):
            return None
        segment = segments[index]
        if kind == _PARAM:
            if not segment:
                return None
            params[part[1:-1]] = unquote(segment)
        elif unquote(segment) != part:
            return None
    return params if len(segments) == len(pattern) else None


# ---------------------------------------------------------------------------------------------
# Access log paths
# ---------------------------------------------------------------------------------------------

# Path parameters that are credentials (the lead webhook's `{token}`), and what else looks like one of our
# secrets (a prefix, then at least 32 URL-safe characters: tokens and keys; ids are shorter), e.g. a
# token in a mistyped webhook URL that another route or none matched.
CREDENTIAL_PARAMETERS = frozenset({"token"})
_SECRET_SHAPE = re.compile(r"[A-Za-z]{2,8}_[A-Za-z0-9_-]{32,}")
MASK = "…"
MAX_LOGGED_PATH = 200


def loggable_path(raw_path: str, routes: Iterable[Route] = ()) -> str:
    """The request's path for the access log, credentials masked: where any of `routes` (those matching
    the path, whatever their method) has a credential parameter, and segments shaped like a secret."""
    segments = raw_path.split("/")
    credentials = {
        index + 1  # raw_path's segments start with the empty one before its leading "/"
        for route in routes
        for index, part in enumerate(route.segments)
        if _segment_kind(part) == _PARAM and part[1:-1] in CREDENTIAL_PARAMETERS
    }
    for index, segment in enumerate(segments):
        if index in credentials or _SECRET_SHAPE.fullmatch(unquote(segment)):
            segments[index] = MASK
    path = "/".join(segments)
    return path if len(path) <= MAX_LOGGED_PATH else path[:MAX_LOGGED_PATH] + MASK


# ---------------------------------------------------------------------------------------------
# Requests -> payload format 2.0 events
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRequest:
    method: str
    raw_path: str
    raw_query: str
    headers: Sequence[tuple[str, str]]
    body: bytes
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"


def is_text_content_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return (
        media.startswith("text/")
        or media in TEXT_CONTENT_TYPES
        or (media.startswith("application/") and media.endswith("+json"))
    )


def new_request_id() -> str:
    """An API Gateway style request id (``apigw-requestid``)."""
    return base64.b32encode(secrets.token_bytes(10)).decode().rstrip("=")[:14] + "="


def fake_api_id(logical_id: str) -> str:
    """A stable, API-id-looking string for an HttpApi resource."""
    import hashlib

    digest = hashlib.sha256(f"{settings.STACK_NAME}/{logical_id}".encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[b % len(alphabet)] for b in digest[:10])


def build_event(
    request: HttpRequest,
    match: RouteMatch,
    *,
    api_id: str,
    request_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    now = time.time() if now is None else now
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        lowered = name.lower()
        if lowered == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[lowered] = f"{headers[lowered]},{value}" if lowered in headers else value
    request_id = request_id or new_request_id()
    route_key = match.route.route_key
    domain = headers.get("host", "")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if request.raw_query:
        query: dict[str, str] = {}
        for name, value in parse_qsl(request.raw_query, keep_blank_values=True):
            query[name] = f"{query[name]},{value}" if name in query else value
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": settings.ACCOUNT_ID,
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0] if domain else "",
        "http": {
            "method": request.method.upper(),
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now * 1000),
    }
    if match.path_parameters:
        event["pathParameters"] = dict(match.path_parameters)
    if request.body:
        if is_text_content_type(headers.get("content-type")):
            try:
                event["body"] = request.body.decode("utf-8")
                event["isBase64Encoded"] = False
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(request.body).decode()
                event["isBase64Encoded"] = True
        else:
            event["body"] = base64.b64encode(request.body).decode()
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    return event


# ---------------------------------------------------------------------------------------------
# Function results -> HTTP responses
# ---------------------------------------------------------------------------------------------


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


def json_response(status: int, payload: Any) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "application/json")], json.dumps(payload).encode())


NOT_FOUND = 404
INTERNAL_ERROR_BODY = {"message": "Internal Server Error"}


def not_found() -> HttpResponse:
    return json_response(404, {"message": "Not Found"})


# The methods an HTTP API routes; API Gateway serves no others.
HTTP_API_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def method_not_allowed() -> HttpResponse:
    response = json_response(405, {"message": "Method Not Allowed"})
    response.headers.append(("Allow", ", ".join(HTTP_API_METHODS)))
    return response


def internal_error() -> HttpResponse:
    return json_response(500, INTERNAL_ERROR_BODY)


def service_unavailable() -> HttpResponse:
    return json_response(503, {"message": "Service Unavailable"})


class MalformedResponse(ValueError):
    """The function returned something API Gateway would reject (it answers 500)."""


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list):
        return ",".join(_header_text(v) for v in value)
    raise MalformedResponse(f"header value {value!r} is not a string")


def map_result(result: Any) -> HttpResponse:
    """Map a successful invocation's return value like API Gateway payload format 2.0."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return HttpResponse(200, [("Content-Type", "application/json")], json.dumps(result).encode())
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        raise MalformedResponse(f"statusCode {result['statusCode']!r} is not a number") from None
    if not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode {status} is out of range")
    raw_headers = result.get("headers") or {}
    if not isinstance(raw_headers, dict):
        raise MalformedResponse("headers must be an object")
    headers = [(str(name), _header_text(value)) for name, value in raw_headers.items()]
    multi = result.get("multiValueHeaders") or {}
    if isinstance(multi, dict):
        for name, values in multi.items():
            headers.extend(
                (str(name), _header_text(v)) for v in (values if isinstance(values, list) else [values])
            )
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list):
        raise MalformedResponse("cookies must be a list")
    headers.extend(("Set-Cookie", str(cookie)) for cookie in cookies)
    body = result.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        raise MalformedResponse(f"body must be a string, got {type(body).__name__}")
    elif result.get("isBase64Encoded"):
        try:
            payload = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedResponse("isBase64Encoded but the body is not base64") from None
    else:
        payload = body.encode("utf-8")
    return HttpResponse(status, headers, payload)


def map_invocation(ok: bool, result: Any, timed_out: bool) -> HttpResponse:
    if timed_out:
        return service_unavailable()
    if not ok:
        return internal_error()
    return map_result(result)
