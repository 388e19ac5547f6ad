"""HTTP plumbing shared by the API handlers: raw bodies, JSON responses, and the one place where
errors become status codes."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from leadhub.platform import json_input
from leadhub.platform.errors import (
    FieldError,
    InvalidRequest,
    LeadhubError,
    PayloadTooLarge,
    TooManyRequests,
    UnsupportedMediaType,
)

JSON = "application/json"
ErrorHandler = TypeVar("ErrorHandler", bound=Callable[..., Response[str]])


def json_response(status_code: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    text = json.dumps(body, default=_json_number)
    return Response(status_code=status_code, content_type=JSON, body=text, headers=headers)


def _json_number(value: Any) -> Any:
    """Exact numbers from provider answers (Decimal) as JSON numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def raw_body(event: BaseProxyEvent, max_bytes: int) -> bytes:
    """The exact bytes the client sent (API Gateway base64-encodes non-text bodies); 413 past `max_bytes`."""
    body = event.body or ""
    if len(body) > max_bytes * 4 // 3 + 4:  # too large even as base64: refuse before decoding
        raise PayloadTooLarge(f"Body exceeds {max_bytes} bytes")
    if not event.is_base64_encoded:
        data = body.encode()
    else:
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest("Body is not valid base64") from None
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"Body exceeds {max_bytes} bytes")
    return data


def base_url(event: BaseProxyEvent, configured: str) -> str:
    """Where this API is reachable: the configured public URL, else the domain the request arrived on."""
    if configured:
        return configured.rstrip("/")
    domain = http_api_event(event).request_context.domain_name
    return f"https://{domain}"


def on_error(app: ApiGatewayResolver, *errors: type[Exception]) -> Callable[[ErrorHandler], ErrorHandler]:
    """`app.exception_handler(errors)`, typed: Powertools leaves that decorator unannotated."""
    register: Callable[[ErrorHandler], ErrorHandler] = app.exception_handler(list(errors))
    return register


def http_api_event(event: BaseProxyEvent) -> APIGatewayProxyEventV2:
    """A Router's current event as what it is behind the HTTP API: payload format 2.0."""
    if not isinstance(event, APIGatewayProxyEventV2):
        raise TypeError(f"{type(event).__name__} is not an HTTP API event")
    return event


def register_error_handlers(app: ApiGatewayResolver, logger: Logger) -> None:
    """Map domain errors to their status; anything unexpected is logged and answered with a generic 500."""

    @on_error(app, LeadhubError)
    def _domain_error(exc: LeadhubError) -> Response[str]:
        if exc.status_code >= 500:  # our storage, a secret or a provider failed: the caller retries
            logger.exception("service unavailable")
            return json_response(exc.status_code, exc.body(), {"Retry-After": "1"})
        logger.info("request refused", extra={"status": exc.status_code, "reason": type(exc).__name__})
        if isinstance(exc, TooManyRequests):
            return json_response(exc.status_code, exc.body(), {"Retry-After": str(exc.retry_after)})
        return json_response(exc.status_code, exc.body())

    @on_error(app, ServiceError)
    def _resolver_error(exc: ServiceError) -> Response[str]:
        # The resolver's own refusals, e.g. 404 for a route it does not serve.
        return json_response(exc.status_code, {"error": exc.msg})

    @on_error(app, Exception)
    def _unexpected(exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return json_response(500, {"error": "Internal error"})


class JsonBodyResolver(APIGatewayHttpResolver):
    """An HTTP API resolver with request validation whose request bodies are JSON objects read by
    json_input's rules: another Content-Type is a 415, other JSON a 400, and request-model failures are
    400 with field details. (Powertools would also parse form and multipart bodies into the models, and
    answer 500 for a multipart body without a boundary, or for JSON that json.loads raises other errors
    on.)"""

    def __init__(self) -> None:
        from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
            OpenAPIRequestValidationMiddleware,
        )
        from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

        super().__init__(enable_validation=True)

        class JsonBodiesOnly(OpenAPIRequestValidationMiddleware):
            def _get_body(self, app: Any) -> Any:
                event = app.current_event
                content_type = event.headers.get("content-type") or ""
                media_type = content_type.partition(";")[0].strip().lower()
                if media_type not in ("", JSON) and not media_type.endswith("+json"):
                    shown = content_type if len(content_type) <= 60 else content_type[:60] + "…"
                    raise UnsupportedMediaType(f"Unsupported Content-Type {shown!r}: send application/json")
                text = event.decoded_body  # undecodable bytes: mapped to 400 below
                return json_input.parse_object(text) if text else None

        # Powertools has no setting for how bodies are read: its request validation middleware, which it
        # creates in its constructor, is replaced here, in ours, before any route is built (routes build
        # their middleware stack on first use). Fail loudly should Powertools rename what this relies on.
        if not isinstance(
            getattr(self, "_request_validation_middleware", None), OpenAPIRequestValidationMiddleware
        ):
            raise RuntimeError(
                "Powertools no longer keeps its request validation in _request_validation_middleware"
            )
        if not callable(getattr(OpenAPIRequestValidationMiddleware, "_get_body", None)):
            raise RuntimeError("Powertools' request validation no longer reads bodies through _get_body")
        # Powertools' middleware constructor is unannotated.
        self._request_validation_middleware = JsonBodiesOnly()  # type: ignore[no-untyped-call]

        @on_error(self, RequestValidationError)
        def _invalid(exc: RequestValidationError) -> Response[str]:
            details = [_field_error(error) for error in exc.errors()]
            return json_response(400, InvalidRequest("Invalid request", details).body())

        # The body is decoded (base64, then UTF-8) before it is parsed: bytes that are not UTF-8 text are
        # the client's error, not a 500.
        @on_error(self, UnicodeDecodeError, binascii.Error)
        def _undecodable_body(exc: ValueError) -> Response[str]:
            return json_response(400, InvalidRequest("Body is not valid UTF-8 JSON").body())


def _field_error(error: Mapping[str, Any]) -> FieldError:
    location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "header")]
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if error.get("type") == "json_invalid":
        return FieldError("body", "Body is not valid JSON")
    return FieldError(".".join(location) or "body", message)


def field_errors(errors: Sequence[Mapping[str, Any]]) -> list[FieldError]:
    """Pydantic validation errors as the API reports them (also for the dashboard's forms)."""
    return [_field_error(error) for error in errors]
