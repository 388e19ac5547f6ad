"""Signing in (with an API key, or with a one-time link) and signing out."""

from __future__ import annotations

import wiring
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from leadhub.dashboard.csrf import CSRF_FIELD, check_csrf_token, check_same_origin, new_sign_in_csrf_token
from leadhub.dashboard.http import page, read_form, redirect
from leadhub.dashboard.links import LinkRefused, LinkState, inspect_sign_in_link, sign_in_with_link
from leadhub.dashboard.models import ABSOLUTE_LIFETIME
from leadhub.dashboard.navigation import OVERVIEW
from leadhub.dashboard.sessions import (
    OpenedSession,
    SignInRequired,
    current_session,
    sign_in_with_key,
    sign_out,
)
from leadhub.platform.errors import InvalidRequest
from leadhub.platform.timestamps import utc_now

router = Router()


def _signed_in_already() -> bool:
    token = wiring.cookies.read(router.current_event, wiring.cookies.session_name)
    if token is None:
        return False
    try:
        current_session(token, sessions=wiring.sessions, now=utc_now())
    except SignInRequired:
        return False
    return True


def _sign_in_page(template: str, status: int = 200, **context: object) -> Response[str]:
    """A sign-in form with a fresh double-submit token (in its cookie and in the form)."""
    token = new_sign_in_csrf_token()
    cookie = wiring.cookies.sign_in_csrf(token)
    return page(status, template, [cookie], title="Sign in", csrf=token, **context)


def _check_sign_in_form() -> dict[str, str]:
    """A sign-in POST from our own form: same origin, and the cookie's token in the form."""
    event = router.current_event
    check_same_origin(event.headers)
    form = read_form(event)
    check_csrf_token(wiring.cookies.read(event, wiring.cookies.sign_in_csrf_name), form.get(CSRF_FIELD))
    return {"apiKey": form.get("apiKey")}


def _opened(opened: OpenedSession) -> Response[str]:
    max_age = int(ABSOLUTE_LIFETIME.total_seconds())
    return redirect(
        OVERVIEW.path,
        [
            wiring.cookies.session(opened.token, max_age),
            wiring.cookies.cleared(wiring.cookies.sign_in_csrf_name),
        ],
    )


@router.get("/login")
def get_login() -> Response[str]:
    if _signed_in_already():
        return redirect(OVERVIEW.path)
    return _sign_in_page("login.html", errors={})


@router.post("/login")
def post_login() -> Response[str]:
    form = _check_sign_in_form()
    try:
        opened = sign_in_with_key(
            form["apiKey"],
            wiring.source_ip(router),
            accounts=wiring.accounts,
            sessions=wiring.sessions,
            failures=wiring.failed_sign_ins,
            now=utc_now(),
        )
    except InvalidRequest as exc:
        errors = {d.field: d.message for d in exc.details}
        return _sign_in_page("login.html", 400, errors=errors)
    return _opened(opened)


@router.get("/login/link/<token>")
def get_link(token: str) -> Response[str]:
    state = inspect_sign_in_link(token, links=wiring.links, now=utc_now())
    if state is not LinkState.USABLE:
        return page(
            410 if state is not LinkState.UNKNOWN else 404,
            "link.html",
            title="Sign in",
            problem=state.problem,
        )
    return _sign_in_page("link.html", problem=None)


@router.post("/login/link/<token>")
def post_link(token: str) -> Response[str]:
    _check_sign_in_form()
    try:
        opened = sign_in_with_link(
            token,
            wiring.source_ip(router),
            links=wiring.links,
            sessions=wiring.sessions,
            failures=wiring.failed_sign_ins,
            now=utc_now(),
        )
    except LinkRefused as exc:
        status = 404 if exc.state is LinkState.UNKNOWN else 410
        return page(status, "link.html", title="Sign in", problem=exc.state.problem)
    return _opened(opened)


@router.get("/logout")
def get_logout() -> Response[str]:
    found = wiring.visit(router, OVERVIEW)
    return wiring.show(found, "logout.html", "Sign out")


@router.post("/logout")
def post_logout() -> Response[str]:
    found, _ = wiring.change(router, OVERVIEW)
    sign_out(found.session, sessions=wiring.sessions, now=utc_now())
    return redirect("/login", [wiring.cookies.cleared(wiring.cookies.session_name)])
