"""The dashboard's HTTP plumbing: security headers on every response, HTML and redirect responses,
cookies, form bodies, and the one place where errors become pages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from leadhub.dashboard.rendering import render
from leadhub.dashboard.sessions import SignInRequired
from leadhub.platform.errors import FieldError, InvalidRequest, LeadhubError, TooManyRequests
from leadhub.platform.web import on_error, raw_body

if TYPE_CHECKING:  # only forms that change something import pydantic (see validated)
    from pydantic import BaseModel

HTML = "text/html; charset=utf-8"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
MAX_FORM_BYTES = 16 * 1024
SIGN_IN_PATH = "/login"


def secured(result: dict[str, Any]) -> dict[str, Any]:
    """The resolver's answer with the security headers; anything not saying otherwise is never cached."""
    headers = result.setdefault("headers", {})
    headers.update(SECURITY_HEADERS)
    if not any(name.lower() == "cache-control" for name in headers):
        headers["Cache-Control"] = "no-store"
    return result


def page(status: int, template: str, cookies: Sequence[Cookie] = (), **context: Any) -> Response[str]:
    return Response(status, HTML, render(template, **context), cookies=list(cookies), compress=True)


def redirect(location: str, cookies: Sequence[Cookie] = ()) -> Response[str]:
    """303 See Other: after a POST the browser GETs `location` (a reload does not post again)."""
    return Response(303, HTML, "", headers={"Location": location}, cookies=list(cookies))


# -- cookies --------------------------------------------------------------------------------------


class CookieJar:
    """The dashboard's cookies. `secure` (off only on the local stack's plain http) also gives them the
    __Host- prefix: sent only over https, to this host, for every path, never set by a subdomain."""

    def __init__(self, secure: bool) -> None:
        self.secure = secure
        prefix = "__Host-" if secure else ""
        self.session_name = f"{prefix}lh_session"
        self.sign_in_csrf_name = f"{prefix}lh_signin"

    def _cookie(self, name: str, value: str, max_age: int) -> Cookie:
        return Cookie(
            name,
            value,
            path="/",
            secure=self.secure,
            http_only=True,
            max_age=max_age,
            same_site=SameSite.STRICT_MODE,
        )

    def session(self, token: str, max_age: int) -> Cookie:
        return self._cookie(self.session_name, token, max_age)

    def sign_in_csrf(self, token: str) -> Cookie:
        return self._cookie(self.sign_in_csrf_name, token, 3600)

    def cleared(self, name: str) -> Cookie:
        return self._cookie(name, "", 0)

    @staticmethod
    def read(event: BaseProxyEvent, name: str) -> str | None:
        for cookie in event.get("cookies") or []:
            key, _, value = str(cookie).partition("=")
            if key.strip() == name:
                return value.strip()
        return None


# -- forms ----------------------------------------------------------------------------------------


class Form:
    """An application/x-www-form-urlencoded body."""

    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        self._fields = fields

    def get(self, name: str) -> str:
        values = self._fields.get(name)
        return values[0] if values else ""

    def get_all(self, name: str) -> list[str]:
        return list(self._fields.get(name, []))


def read_form(event: BaseProxyEvent, max_bytes: int = MAX_FORM_BYTES) -> Form:
    data = raw_body(event, max_bytes)
    try:
        text = data.decode()
        fields = parse_qs(text, keep_blank_values=True, strict_parsing=False, max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("The form could not be read") from None
    return Form(fields)


MAX_CURSOR = 2048  # as the API's `cursor` parameter


def query_cursor(event: BaseProxyEvent) -> str | None:
    """The `cursor` of a paged listing's URL (None: its first page); 400 when it cannot be one."""
    cursor = event.get_query_string_value("cursor") or None
    if cursor is not None and len(cursor) > MAX_CURSOR:
        raise InvalidRequest("Invalid cursor", [FieldError("cursor", "not a cursor of this listing")])
    return cursor


M = TypeVar("M", bound="BaseModel")


def validated(model: type[M], data: Mapping[str, Any]) -> M:
    """`data` validated by the request model the management API uses for the same change: the same rules,
    and the same words in the field errors."""
    from pydantic import ValidationError  # only forms that change something import pydantic

    from leadhub.platform.web import field_errors

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest("Invalid request", field_errors(exc.errors())) from None


# -- errors ---------------------------------------------------------------------------------------

TITLES = {400: "Bad request", 403: "Not allowed", 404: "Page not found", 409: "Conflict", 413: "Too large"}


def register_error_pages(app: ApiGatewayResolver, logger: Logger) -> None:
    """Domain errors as pages with their status; no session: to the sign-in page."""

    @on_error(app, SignInRequired)
    def _sign_in(exc: SignInRequired) -> Response[str]:
        return redirect(SIGN_IN_PATH)

    @on_error(app, TooManyRequests)
    def _too_many(exc: TooManyRequests) -> Response[str]:
        logger.info("sign-in refused", extra={"status": 429})
        response = page(429, "error.html", title="Too many attempts", message=exc.message)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @on_error(app, LeadhubError)
    def _domain_error(exc: LeadhubError) -> Response[str]:
        if exc.status_code >= 500:
            logger.exception("service unavailable")
            response = page(exc.status_code, "error.html", title="Please try again", message=exc.message)
            response.headers["Retry-After"] = "1"
            return response
        logger.info("request refused", extra={"status": exc.status_code, "reason": type(exc).__name__})
        title = TITLES.get(exc.status_code, "Refused")
        return page(exc.status_code, "error.html", title=title, message=exc.message)

    @on_error(app, NotFoundError)
    def _not_found(exc: NotFoundError) -> Response[str]:
        return page(404, "error.html", title=TITLES[404], message="There is no page at this address.")

    @on_error(app, ServiceError)
    def _resolver_error(exc: ServiceError) -> Response[str]:
        return page(exc.status_code, "error.html", title="Refused", message=exc.msg)

    @on_error(app, Exception)
    def _unexpected(exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return page(500, "error.html", title="Something went wrong", message="Please try again.")
