"""The account's API keys: create (shown once), list (masked), revoke."""

from __future__ import annotations

from typing import Annotated

import deps
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from schemas import JSON_BODY, KEYED, responses
from schemas.api_keys import ApiKeyListOut, ApiKeyOut, CreateApiKeyRequest, CreatedApiKeyOut

from leadhub.domain.api_keys import create_api_key, list_api_keys, revoke_api_key
from leadhub.models.account import Scope
from leadhub.timestamps import utc_now

router = Router()


@router.post(
    "/api/api-keys",
    summary="Create an API key",
    security=deps.API_KEY_SECURITY,
    tags=["API keys"],
    responses=responses(201, *JSON_BODY, *KEYED),
)
def post_api_key(request: CreateApiKeyRequest) -> tuple[CreatedApiKeyOut, int]:
    caller = deps.principal(router, Scope.ACCOUNT_MANAGE)
    scopes = [str(scope) for scope in request.scopes]
    record, plaintext = create_api_key(caller, request.name, scopes, accounts=deps.accounts, now=utc_now())
    return CreatedApiKeyOut.model_validate({**record.to_public(), "apiKey": plaintext}), 201


@router.get(
    "/api/api-keys",
    summary="List API keys (masked)",
    security=deps.API_KEY_SECURITY,
    tags=["API keys"],
    responses=responses(200, *KEYED),
)
def get_api_keys() -> ApiKeyListOut:
    caller = deps.principal(router, Scope.ACCOUNT_MANAGE)
    keys = list_api_keys(caller, accounts=deps.accounts)
    return ApiKeyListOut(items=[ApiKeyOut.model_validate(key.to_public()) for key in keys])


@router.delete(
    "/api/api-keys/<keyId>",
    summary="Revoke an API key",
    security=deps.API_KEY_SECURITY,
    tags=["API keys"],
    responses=responses(204, 400, 404, *KEYED),
)
def delete_api_key(keyId: Annotated[str, Path(max_length=64)]) -> Response[None]:
    caller = deps.principal(router, Scope.ACCOUNT_MANAGE)
    revoke_api_key(caller, keyId, accounts=deps.accounts, now=utc_now())
    return Response(status_code=204)
