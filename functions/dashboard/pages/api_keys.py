"""API keys (/settings/api-keys): the list, creating one (shown once), revoking one."""

from __future__ import annotations

import wiring
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from leadhub.accounts.api_keys import create_api_key, list_api_keys, revoke_api_key
from leadhub.accounts.models import ApiKey
from leadhub.dashboard.http import redirect, validated
from leadhub.dashboard.navigation import API_KEYS
from leadhub.dashboard.visit import Visit
from leadhub.platform.errors import InvalidRequest, NotFound
from leadhub.platform.timestamps import utc_now

router = Router()


def _keys_page(visit: Visit, status: int = 200, **context: object) -> Response[str]:
    keys = list_api_keys(visit.principal, accounts=wiring.accounts)
    context = {"errors": {}, "form": {"name": "", "scopes": []}, "created": None, **context}
    revoked = router.current_event.get_query_string_value("revoked")
    return wiring.show(visit, "api_keys.html", "API keys", status, keys=keys, revoked=revoked, **context)


def _find_key(visit: Visit, key_id: str) -> ApiKey:
    found = next(
        (k for k in list_api_keys(visit.principal, accounts=wiring.accounts) if k.key_id == key_id), None
    )
    if found is None:
        raise NotFound("API key not found")
    return found


@router.get(API_KEYS.path)
def get_api_keys() -> Response[str]:
    return _keys_page(wiring.visit(router, API_KEYS))


@router.post(API_KEYS.path)
def post_api_key() -> Response[str]:
    from leadhub.accounts.request_models import (
        CreateApiKeyRequest,  # pydantic: only when a key is created (~60 ms)
    )

    visit, form = wiring.change(router, API_KEYS)
    entered = {"name": form.get("name"), "scopes": form.get_all("scopes")}
    try:
        request = validated(CreateApiKeyRequest, entered)
        scopes = [str(scope) for scope in request.scopes]
        record, plaintext = create_api_key(
            visit.principal, request.name, scopes, accounts=wiring.accounts, now=utc_now()
        )
    except InvalidRequest as exc:
        errors = {d.field.partition(".")[0]: d.message for d in exc.details}
        return _keys_page(visit, 400, errors=errors, form=entered)
    return _keys_page(visit, 201, created={"key": record, "plaintext": plaintext})


@router.get(f"{API_KEYS.path}/<keyId>/revoke")
def get_revoke(keyId: str) -> Response[str]:
    visit = wiring.visit(router, API_KEYS)
    key = _find_key(visit, keyId)
    return wiring.show(visit, "revoke_key.html", "Revoke an API key", key=key)


@router.post(f"{API_KEYS.path}/<keyId>/revoke")
def post_revoke(keyId: str) -> Response[str]:
    visit, _ = wiring.change(router, API_KEYS)
    revoke_api_key(visit.principal, keyId, accounts=wiring.accounts, now=utc_now())
    return redirect(f"{API_KEYS.path}?revoked={keyId}")
