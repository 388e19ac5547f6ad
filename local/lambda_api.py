"""Lambda's Invoke API on the local stack's HTTP port, as `sam local start-lambda` offers it: a Lambda
client pointed at the local stack (`endpoint_url="http://127.0.0.1:3000"`, or the AWS CLI's
`--endpoint-url`) invokes its functions, by logical id or function name. RequestResponse invocations
answer with the function's result (or its error, flagged by `X-Amz-Function-Error`), Event ones are run
in the background (202), DryRun ones only checked (204)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from local.gateway import HttpRequest, HttpResponse, new_request_id
from local.workers import InvokeResult

Invoker = Callable[[str, dict[str, Any], str], InvokeResult]
_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations$")


def invoked_function(request: HttpRequest) -> str | None:
    """The function name or ARN a request to the Invoke API names; None for any other request."""
    match = _INVOKE_PATH.match(request.raw_path)
    return unquote(match.group(1)) if match and request.method == "POST" else None


def _error(status: int, error_type: str, message: str) -> HttpResponse:
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type)]
    return HttpResponse(status, headers, json.dumps({"Type": "User", "message": message}).encode())


def handle_invoke(
    request: HttpRequest, name: str, functions: Mapping[str, str], invoker: Invoker
) -> HttpResponse:
    """Invoke the function `name` (logical id, function name or ARN) of `functions` (name -> logical id)."""
    function_id = functions.get(name.rsplit(":function:", 1)[-1].split(":", 1)[0])
    if function_id is None:
        return _error(404, "ResourceNotFoundException", f"Function not found: {name}")
    try:
        event = json.loads(request.body or b"{}")
    except ValueError:
        return _error(400, "InvalidRequestContentException", "Could not parse request body into json")
    headers = {key.lower(): value for key, value in request.headers}
    invocation_type = headers.get("x-amz-invocation-type", "RequestResponse")
    request_id = new_request_id()
    if invocation_type == "DryRun":
        return HttpResponse(204, [("x-amzn-RequestId", request_id)])
    if invocation_type == "Event":
        threading.Thread(target=invoker, args=(function_id, event, request_id), daemon=True).start()
        return HttpResponse(202, [("x-amzn-RequestId", request_id)])
    if invocation_type != "RequestResponse":
        return _error(400, "InvalidParameterValueException", f"Unknown InvocationType: {invocation_type}")
    result = invoker(function_id, event, request_id)
    response_headers = [
        ("Content-Type", "application/json"),
        ("x-amzn-RequestId", request_id),
        ("X-Amz-Executed-Version", "$LATEST"),
    ]
    if result.ok:
        return HttpResponse(200, response_headers, json.dumps(result.result).encode())
    error = result.error or {"errorMessage": "Task timed out", "errorType": "TimeoutError"}
    response_headers.append(("X-Amz-Function-Error", "Unhandled"))
    return HttpResponse(200, response_headers, json.dumps(error).encode())
