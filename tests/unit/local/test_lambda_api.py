"""Lambda's Invoke API of the local stack, with a recording invoker in place of the worker pools."""

from __future__ import annotations

import json
import threading
from typing import Any

from local.gateway import HttpRequest
from local.lambda_api import handle_invoke, invoked_function
from local.workers import InvokeResult

FUNCTIONS = {
    "EventFanoutFunction": "EventFanoutFunction",
    "leadhub-local-EventFanoutFunction": "EventFanoutFunction",
}


class Invoker:
    def __init__(self, result: InvokeResult | None = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.called = threading.Event()
        self.result = result or InvokeResult("r", ok=True, result={"batchItemFailures": []})

    def __call__(self, function_id: str, event: dict[str, Any], request_id: str) -> InvokeResult:
        self.calls.append((function_id, event))
        self.called.set()
        return self.result


def request(path: str, body: bytes = b"{}", method: str = "POST", **headers: str) -> HttpRequest:
    return HttpRequest(method, path, "", list(headers.items()), body)


def test_only_posts_to_the_invocations_path_are_invocations() -> None:
    assert invoked_function(request("/2015-03-31/functions/EventFanoutFunction/invocations")) == (
        "EventFanoutFunction"
    )
    arn = "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aleadhub-local-EventFanoutFunction"
    assert invoked_function(request(f"/2015-03-31/functions/{arn}/invocations")).endswith(
        ":function:leadhub-local-EventFanoutFunction"
    )
    assert invoked_function(request("/2015-03-31/functions/X/invocations", method="GET")) is None
    assert invoked_function(request("/api/leads")) is None


def test_a_function_is_found_by_logical_id_name_or_arn_with_a_qualifier() -> None:
    for name in (
        "EventFanoutFunction",
        "leadhub-local-EventFanoutFunction",
        "arn:aws:lambda:us-east-1:123456789012:function:leadhub-local-EventFanoutFunction:$LATEST",
    ):
        invoker = Invoker()
        response = handle_invoke(request("/", b'{"Records": [1]}'), name, FUNCTIONS, invoker)
        assert (response.status, json.loads(response.body)) == (200, {"batchItemFailures": []})
        assert invoker.calls == [("EventFanoutFunction", {"Records": [1]})]
        assert response.header("X-Amz-Function-Error") is None


def test_errors_timeouts_and_unknown_functions_answer_as_lambda_does() -> None:
    failed = Invoker(InvokeResult("r", ok=False, error={"errorType": "ValueError", "errorMessage": "bad"}))
    response = handle_invoke(request("/"), "EventFanoutFunction", FUNCTIONS, failed)
    assert (response.status, response.header("X-Amz-Function-Error")) == (200, "Unhandled")
    assert json.loads(response.body)["errorType"] == "ValueError"

    timed_out = Invoker(InvokeResult("r", ok=False, timed_out=True))
    response = handle_invoke(request("/"), "EventFanoutFunction", FUNCTIONS, timed_out)
    assert response.header("X-Amz-Function-Error") == "Unhandled"

    response = handle_invoke(request("/"), "Nope", FUNCTIONS, Invoker())
    assert (response.status, response.header("x-amzn-ErrorType")) == (404, "ResourceNotFoundException")
    response = handle_invoke(request("/", b"{not json"), "EventFanoutFunction", FUNCTIONS, Invoker())
    assert (response.status, response.header("x-amzn-ErrorType")) == (400, "InvalidRequestContentException")


def test_event_invocations_run_in_the_background_and_dry_runs_not_at_all() -> None:
    background = Invoker()
    accepted = handle_invoke(
        request("/", **{"X-Amz-Invocation-Type": "Event"}), "EventFanoutFunction", FUNCTIONS, background
    )
    assert accepted.status == 202 and background.called.wait(5)

    dry = Invoker()
    checked = handle_invoke(
        request("/", **{"X-Amz-Invocation-Type": "DryRun"}), "EventFanoutFunction", FUNCTIONS, dry
    )
    assert checked.status == 204 and dry.calls == []
