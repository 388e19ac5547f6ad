"""local.gateway: HTTP API route matching, payload format 2.0 events and response mapping."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from local import settings
from local.cfn import Evaluator, Template
from local.gateway import (
    HttpRequest,
    MalformedResponse,
    Route,
    RouteMatch,
    Router,
    build_event,
    loggable_path,
    map_invocation,
    map_result,
    new_request_id,
)
from local.sam import build_function_specs

# ---------------------------------------------------------------------------------------------
# Router
# ---------------------------------------------------------------------------------------------

ROUTES = [
    Route("ANY", "$default", "Default"),
    Route("ANY", "/api/{proxy+}", "Proxy"),
    Route("GET", "/api/items/{id}", "GetItem"),
    Route("ANY", "/api/items/{id}", "AnyItem"),
    Route("GET", "/api/items/special", "Special"),
    Route("POST", "/api/webhooks/leads/{token}", "Webhook"),
    Route("GET", "/", "Root"),
]


def target(router: Router, method: str, path: str) -> str | None:
    match = router.match(method, path)
    return None if match is None else match.route.target


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api/items/special", "Special"),  # static beats {param}
        ("GET", "/api/items/42", "GetItem"),  # {param} beats {proxy+}; method beats ANY
        ("DELETE", "/api/items/42", "AnyItem"),  # ANY when the method has no route of its own
        ("POST", "/api/items/special", "AnyItem"),  # static GET does not apply to POST
        ("GET", "/api/items/42/notes", "Proxy"),  # greedy spans several segments
        ("GET", "/api/other", "Proxy"),
        ("POST", "/api/webhooks/leads/tok", "Webhook"),
        ("GET", "/api/webhooks/leads/tok", "Proxy"),
        ("GET", "/", "Root"),
        ("POST", "/", "Default"),
        ("GET", "/api", "Default"),  # {proxy+} needs at least one segment
        ("GET", "/elsewhere/x", "Default"),  # $default comes last
        ("get", "/api/items/42", "GetItem"),  # methods are case-insensitive
    ],
)
def test_most_specific_route_wins(method: str, path: str, expected: str) -> None:
    assert target(Router(ROUTES), method, path) == expected


def test_route_order_does_not_matter() -> None:
    router = Router(list(reversed(ROUTES)))
    assert target(router, "GET", "/api/items/special") == "Special"
    assert target(router, "GET", "/api/items/1") == "GetItem"
    assert router.routes[-1].path == "$default"


def test_trailing_slashes_are_ignored() -> None:
    router = Router(ROUTES)
    assert target(router, "GET", "/api/items/special/") == "Special"
    match = router.match("GET", "/api/items/42/")
    assert match is not None and match.route.target == "GetItem" and match.path_parameters == {"id": "42"}


def test_path_parameters_are_percent_decoded() -> None:
    router = Router(ROUTES)
    match = router.match("GET", "/api/items/a%20b%2Fc")
    assert match == RouteMatch(Route("GET", "/api/items/{id}", "GetItem"), {"id": "a b/c"})
    greedy = router.match("GET", "/api/x%3Dy/z%20w")
    assert greedy is not None and greedy.path_parameters == {"proxy": "x=y/z w"}
    static = router.match("GET", "/api/items/%73pecial")  # an escaped static segment still matches
    assert static is not None and static.route.target == "Special"


def test_no_match_without_default_route() -> None:
    router = Router([r for r in ROUTES if r.path != "$default"])
    assert router.match("GET", "/elsewhere") is None
    assert router.match("POST", "/api") is None
    assert router.match("PUT", "/api/webhooks/leads/tok") is not None  # ANY /api/{proxy+}
    assert Router([Route("GET", "/a/{b}", "F")]).match("GET", "/a/b/c") is None
    assert Router([Route("GET", "/a/{b}", "F")]).match("GET", "/a//") is None  # empty {param}
    assert Router([Route("GET", "/a/{b}", "F")]).match("POST", "/a/b") is None


def test_route_keys() -> None:
    assert Route("POST", "/api/webhooks/leads/{token}", "F").route_key == "POST /api/webhooks/leads/{token}"
    assert Route("ANY", "/api/{proxy+}", "F").route_key == "ANY /api/{proxy+}"
    assert Route("ANY", "$default", "F").route_key == "$default"


def test_duplicate_routes_are_rejected() -> None:
    with pytest.raises(ValueError, match="more than once"):
        Router([Route("GET", "/a", "F"), Route("GET", "/a", "G")])
    # Same path, different methods is fine.
    Router([Route("GET", "/a", "F"), Route("ANY", "/a", "G")])


# ---------------------------------------------------------------------------------------------
# build_event
# ---------------------------------------------------------------------------------------------

NOW = 1_700_000_000.123


def event_for(
    *,
    method: str = "POST",
    path: str = "/api/webhooks/leads/tok%20en",
    query: str = "",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    route: Route | None = None,
) -> dict[str, Any]:
    router = Router([route or Route("POST", "/api/webhooks/leads/{token}", "Webhook")])
    match = router.match(method, path)
    assert match is not None
    request = HttpRequest(
        method=method,
        raw_path=path,
        raw_query=query,
        headers=[("Host", "127.0.0.1:3000")] if headers is None else headers,
        body=body,
        source_ip="127.0.0.9",
    )
    return build_event(request, match, api_id="abc123", request_id="req-1", now=NOW)


def test_event_matches_api_gateway_payload_format_2() -> None:
    event = event_for(
        query="a=1&b=x%20y&a=2&empty=",
        headers=[
            ("Host", "localhost:3000"),
            ("User-Agent", "curl/8"),
            ("X-Multi", "one"),
            ("x-multi", "two"),
            ("Content-Type", "application/json"),
            ("Cookie", "s=1; t=2"),
            ("Cookie", "u=3"),
        ],
        body=b'{"name":"Ann"}',
    )
    assert event == {
        "version": "2.0",
        "routeKey": "POST /api/webhooks/leads/{token}",
        "rawPath": "/api/webhooks/leads/tok%20en",
        "rawQueryString": "a=1&b=x%20y&a=2&empty=",
        "cookies": ["s=1", "t=2", "u=3"],
        "headers": {
            "host": "localhost:3000",
            "user-agent": "curl/8",
            "x-multi": "one,two",
            "content-type": "application/json",
        },
        "queryStringParameters": {"a": "1,2", "b": "x y", "empty": ""},
        "requestContext": {
            "accountId": settings.ACCOUNT_ID,
            "apiId": "abc123",
            "domainName": "localhost:3000",
            "domainPrefix": "localhost:3000",
            "http": {
                "method": "POST",
                "path": "/api/webhooks/leads/tok%20en",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.9",
                "userAgent": "curl/8",
            },
            "requestId": "req-1",
            "routeKey": "POST /api/webhooks/leads/{token}",
            "stage": "$default",
            "time": "14/Nov/2023:22:13:20 +0000",
            "timeEpoch": 1_700_000_000_123,
        },
        "pathParameters": {"token": "tok en"},
        "body": '{"name":"Ann"}',
        "isBase64Encoded": False,
    }


def test_domain_prefix_is_the_first_label() -> None:
    event = event_for(headers=[("Host", "abc123.execute-api.us-east-1.amazonaws.com")])
    assert event["requestContext"]["domainPrefix"] == "abc123"


def test_event_without_query_cookies_params_or_body_omits_them() -> None:
    event = event_for(method="GET", path="/x", headers=[], route=Route("ANY", "$default", "D"))
    assert event["rawQueryString"] == ""
    assert event["headers"] == {}
    assert event["routeKey"] == "$default"
    assert event["requestContext"]["domainName"] == ""
    for key in ("queryStringParameters", "cookies", "pathParameters", "body"):
        assert key not in event
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "text/plain",
        "text/csv",
        "application/xml",
        "application/vnd.api+json",
        "application/javascript",
    ],
)
def test_text_bodies_are_passed_as_text(content_type: str) -> None:
    event = event_for(headers=[("Content-Type", content_type)], body="héllo".encode())
    assert event["body"] == "héllo"
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/octet-stream",
    ],
)
def test_other_bodies_are_base64_encoded(content_type: str | None) -> None:
    body = b"name=Ann&phone=%2B1555"
    headers = [("Content-Type", content_type)] if content_type else []
    event = event_for(headers=headers, body=body)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_binary_bodies_survive_base64() -> None:
    body = bytes(range(256))
    event = event_for(headers=[("Content-Type", "image/png")], body=body)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_invalid_utf8_text_body_falls_back_to_base64() -> None:
    body = b'{"name":"\xff"}'
    event = event_for(headers=[("Content-Type", "application/json")], body=body)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_request_ids_are_unique_and_shaped_like_api_gateways() -> None:
    ids = {new_request_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 15 and i.endswith("=") and i[:-1].isalnum() for i in ids)
    event = event_for(route=Route("ANY", "$default", "D"), path="/")
    assert event["requestContext"]["requestId"] == "req-1"


# ---------------------------------------------------------------------------------------------
# map_result / map_invocation
# ---------------------------------------------------------------------------------------------


def test_result_without_status_code_is_a_200_json_body() -> None:
    response = map_result({"message": "hi", "n": 1})
    assert response.status == 200
    assert response.header("content-type") == "application/json"
    assert json.loads(response.body) == {"message": "hi", "n": 1}
    assert json.loads(map_result(["a"]).body) == ["a"]
    assert map_result(None).body == b"null"


def test_full_result_maps_status_headers_and_cookies() -> None:
    response = map_result(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "text/plain", "X-Count": 3, "X-Flag": True, "X-List": ["a", "b"]},
            "multiValueHeaders": {"X-Multi": ["1", "2"], "X-Single": "s"},
            "cookies": ["a=1; Path=/", "b=2; HttpOnly"],
            "body": "créé",
        }
    )
    assert response.status == 201
    assert response.headers == [
        ("Content-Type", "text/plain"),
        ("X-Count", "3"),
        ("X-Flag", "true"),
        ("X-List", "a,b"),
        ("X-Multi", "1"),
        ("X-Multi", "2"),
        ("X-Single", "s"),
        ("Set-Cookie", "a=1; Path=/"),
        ("Set-Cookie", "b=2; HttpOnly"),
    ]
    assert response.body == "créé".encode()
    assert response.header("x-count") == "3"
    assert response.header("missing") is None


def test_status_code_may_be_a_numeric_string_and_body_may_be_absent() -> None:
    response = map_result({"statusCode": "204"})
    assert (response.status, response.headers, response.body) == (204, [], b"")


def test_base64_bodies_are_decoded() -> None:
    raw = bytes(range(256))
    response = map_result(
        {"statusCode": 200, "body": base64.b64encode(raw).decode(), "isBase64Encoded": True}
    )
    assert response.body == raw


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": "abc"},
        {"statusCode": None},
        {"statusCode": 99},
        {"statusCode": 600},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "body": 5},
        {"statusCode": 200, "headers": ["X-A", "1"]},
        {"statusCode": 200, "headers": {"X-A": {"nested": 1}}},
        {"statusCode": 200, "cookies": "a=1"},
        {"statusCode": 200, "body": "not base64!", "isBase64Encoded": True},
    ],
)
def test_malformed_results_are_rejected(result: dict[str, Any]) -> None:
    with pytest.raises(MalformedResponse):
        map_result(result)


def test_map_invocation_maps_failures() -> None:
    timed_out = map_invocation(False, None, timed_out=True)
    assert timed_out.status == 503
    assert json.loads(timed_out.body) == {"message": "Service Unavailable"}
    failed = map_invocation(False, {"statusCode": 200}, timed_out=False)
    assert failed.status == 500
    assert json.loads(failed.body) == {"message": "Internal Server Error"}
    assert failed.header("Content-Type") == "application/json"
    ok = map_invocation(True, {"statusCode": 202, "body": "x"}, timed_out=False)
    assert (ok.status, ok.body) == (202, b"x")


# ---------------------------------------------------------------------------------------------
# Access log paths
# ---------------------------------------------------------------------------------------------

TOKEN = "lht_" + "A1b2-C3d4_" * 4  # the shape of a webhook token (32+ URL-safe characters)


@pytest.mark.parametrize(
    ("method", "path", "shown"),
    [
        ("POST", "/api/webhooks/leads/any-token-at-all", "/api/webhooks/leads/…"),  # by the route's {token}
        ("POST", f"/api/webhooks/leads/{TOKEN}", "/api/webhooks/leads/…"),
        ("GET", f"/api/webhooks/lead/{TOKEN}", "/api/webhooks/lead/…"),  # a typo: by its shape
        ("GET", f"/nowhere/{TOKEN}/x", "/nowhere/…/x"),  # no route at all
        (
            "GET",
            "/api/items/acc_01m94mv9n6fy158fbn6naawsnv",
            "/api/items/acc_01m94mv9n6fy158fbn6naawsnv",
        ),  # ids stay
        ("GET", "/api/items/42/notes", "/api/items/42/notes"),
        ("GET", "/", "/"),
    ],
)
def test_loggable_paths_are_the_real_paths_with_credentials_masked(
    method: str, path: str, shown: str
) -> None:
    assert loggable_path(path, Router(ROUTES).routes_for_path(path)) == shown


def test_long_paths_are_cut_for_the_log() -> None:
    shown = loggable_path("/api/" + "x" * 500)
    assert len(shown) == 201 and shown.endswith("…")


@given(
    before=st.lists(st.text(alphabet=st.characters(blacklist_characters="/"), max_size=12), max_size=4),
    secret=st.from_regex(r"[a-z]{2,8}_[A-Za-z0-9_-]{32,48}", fullmatch=True),
    after=st.lists(st.text(alphabet=st.characters(blacklist_characters="/"), max_size=12), max_size=4),
)
def test_no_secret_shaped_segment_reaches_the_log(before: list[str], secret: str, after: list[str]) -> None:
    path = "/".join(["", *before, secret, *after])
    shown = loggable_path(path, Router(ROUTES).routes_for_path(path))
    assert secret not in shown
    assert shown.count("/") == path.count("/") or shown.endswith("…")  # same shape, only masked


# API Gateway's own example of route selection (HTTP API developer guide, "Routing API requests"):
# a full match of route and method first, then a route with a greedy path variable, then $default.
AWS_EXAMPLE_ROUTES = [
    Route("GET", "/pets/dog/1", "StaticDog"),
    Route("GET", "/pets/dog/{id}", "AnyDog"),
    Route("GET", "/pets/{proxy+}", "PetsProxy"),
    Route("ANY", "/{proxy+}", "RootProxy"),
    Route("ANY", "$default", "Default"),
]


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/pets/dog/1", "StaticDog"),
        ("GET", "/pets/dog/2", "AnyDog"),
        ("GET", "/pets/cat/1", "PetsProxy"),
        ("POST", "/pets/dog/1", "RootProxy"),  # ANY for methods without a route; greedy before $default
        ("GET", "/", "Default"),  # {proxy+} needs a segment
    ],
)
def test_routes_are_chosen_as_in_api_gateways_example(method: str, path: str, expected: str) -> None:
    assert target(Router(AWS_EXAMPLE_ROUTES), method, path) == expected


class _NoResources:
    """Routes need no resource values."""

    def ref(self, logical_id: str) -> str:
        return logical_id

    def get_att(self, logical_id: str, attribute: str) -> str:
        return f"{logical_id}.{attribute}"


def _template_router() -> Router:
    """The local stack's router over template.yaml's own routes."""
    template = Template.from_file(settings.DEFAULT_TEMPLATE)
    specs = build_function_specs(template, Evaluator(template, _NoResources()), {})
    return Router(Route(r.method, r.path, r.function_id) for s in specs.values() for r in s.http_routes)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/", "DashboardFunction"),
        ("POST", "/login", "DashboardFunction"),
        ("GET", "/settings/api-keys", "DashboardFunction"),
        ("GET", "/assets/app.0123456789ab.css", "DashboardFunction"),
        ("GET", "/api", "DashboardFunction"),  # /api/{proxy+} needs a segment after /api
        ("GET", "/api/leads", "ManagementApiFunction"),  # /api/{proxy+} is more specific than /{proxy+}
        ("POST", "/api/dashboard/links", "ManagementApiFunction"),
        ("GET", "/api/docs", "ManagementApiFunction"),
        ("POST", "/api/webhooks/leads/lht_x", "LeadWebhookFunction"),
        ("GET", "/api/webhooks/leads/lht_x", "ManagementApiFunction"),  # only POST has its own route
        ("GET", "/api/webhooks/meta-whatsapp", "WhatsappWebhookFunction"),
        ("POST", "/api/webhooks/telegram", "TelegramWebhookFunction"),
        ("POST", "/api/webhooks/email", "EmailWebhookFunction"),
    ],
)
def test_the_dashboards_catch_all_leaves_every_api_route_to_its_function(
    method: str, path: str, expected: str
) -> None:
    assert target(_template_router(), method, path) == expected
