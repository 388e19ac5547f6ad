"""What the dashboard's pages depend on, built once per execution environment (clients stay lazy), and
the two ways a page starts: `visit` (show something) and `change` (a POST that changes something)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from leadhub.accounts.adapters.dynamodb_accounts import DynamoAccountRepository
from leadhub.channels.web.adapters.dynamodb_widget import DynamoWidgets
from leadhub.dashboard.adapters.dynamodb_dashboard import (
    DynamoFailedSignIns,
    DynamoSessions,
    DynamoSignInLinks,
)
from leadhub.dashboard.csrf import CSRF_FIELD, CSRF_HEADER, check_csrf_token, check_same_origin
from leadhub.dashboard.csrf import session_csrf_token as csrf_token_of
from leadhub.dashboard.http import MAX_FORM_BYTES, CookieJar, Form, page, read_form
from leadhub.dashboard.navigation import Section
from leadhub.dashboard.sessions import current_session
from leadhub.dashboard.visit import Visit
from leadhub.platform.adapters.kms_cipher import KmsCipher
from leadhub.platform.decryption_cache import DecryptionCache
from leadhub.platform.settings import DashboardSettings, load_settings
from leadhub.platform.timestamps import utc_now
from leadhub.platform.web import base_url, http_api_event

settings = load_settings(DashboardSettings)
cookies = CookieJar(secure=settings.session_cookie_secure)
accounts = DynamoAccountRepository(settings.table_name)
# The webhook token the overview shows: a rotation makes a new ciphertext, so a remembered one is never stale.
cipher = DecryptionCache(KmsCipher(settings.kms_key_id))
sessions = DynamoSessions(settings.table_name)
links = DynamoSignInLinks(settings.table_name)
failed_sign_ins = DynamoFailedSignIns(settings.table_name)
widgets = DynamoWidgets(settings.table_name)  # the website widget's settings (channels pages)


def visit(router: Router, section: Section) -> Visit:
    """The signed-in session of this request (else: to the sign-in page), allowed into `section` (else
    403)."""
    token = cookies.read(router.current_event, cookies.session_name)
    session = current_session(token, sessions=sessions, now=utc_now())
    assert token is not None  # current_session refuses a missing one
    found = Visit(session, csrf_token_of(token), section)
    if section.scope is not None:
        found.require(section.scope)
    return found


def change(
    router: Router, section: Section, scope: str | None = None, max_form_bytes: int = MAX_FORM_BYTES
) -> tuple[Visit, Form]:
    """A POST from this site's own page (Origin, CSRF token), by a session allowed into `section` and
    holding `scope`: the visit and the posted form."""
    event = router.current_event
    check_same_origin(event.headers)
    found = visit(router, section)
    form = read_form(event, max_form_bytes)
    check_csrf_token(found.csrf_token, form.get(CSRF_FIELD) or event.headers.get(CSRF_HEADER))
    if scope is not None:
        found.require(scope)
    return found, form


def show(visit: Visit, template: str, title: str, status: int = 200, **context: Any) -> Response[str]:
    """A page in the signed-in layout (navigation by the session's scopes)."""
    return page(status, template, visit=visit, title=title, **context)


def public_base_url(router: Router) -> str:
    return base_url(router.current_event, settings.public_base_url)


def source_ip(router: Router) -> str:
    return str(http_api_event(router.current_event).request_context.http.source_ip)
