"""Operator routes, authenticated with the deployment's admin key (X-Admin-Key)."""

from __future__ import annotations

import deps
from aws_lambda_powertools.event_handler.api_gateway import Router
from schemas import JSON_BODY, responses
from schemas.accounts import CreateAccountRequest, CreatedAccountOut

from leadhub.domain.accounts import create_account
from leadhub.domain.api_keys import check_admin_key
from leadhub.timestamps import utc_now

router = Router()


@router.post(
    "/api/admin/accounts",
    summary="Create an account",
    description="Returns the account with its webhook token and first API key (all scopes; shown once).",
    security=deps.ADMIN_KEY_SECURITY,
    tags=["Admin"],
    responses=responses(201, 401, 503, *JSON_BODY, why={401: "Missing or invalid X-Admin-Key"}),
)
def post_account(request: CreateAccountRequest) -> tuple[CreatedAccountOut, int]:
    check_admin_key(router.current_event.headers.get("x-admin-key"), source=deps.admin_key)
    created = create_account(
        request.name,
        request.plan,
        request.defaultRegion or deps.settings.default_phone_region,
        request.parentAccountId,
        accounts=deps.accounts,
        cipher=deps.cipher,
        now=utc_now(),
    )
    body = {**created.view.to_public(deps.public_base_url(router)), "apiKey": created.api_key}
    return CreatedAccountOut.model_validate(body), 201
