"""The calling key's own account: its details (webhook token included) and token rotation."""

from __future__ import annotations

import deps
from aws_lambda_powertools.event_handler.api_gateway import Router
from schemas import KEYED, responses
from schemas.accounts import AccountOut, WebhookTokenOut

from leadhub.domain.accounts import current_account, rotate_webhook_token, webhook_url
from leadhub.models.account import Scope
from leadhub.timestamps import utc_now

router = Router()


@router.get(
    "/api/accounts/current",
    summary="The current account",
    security=deps.API_KEY_SECURITY,
    tags=["Account"],
    responses=responses(200, 404, *KEYED),
)
def get_current_account() -> AccountOut:
    caller = deps.principal(router, Scope.ACCOUNT_VIEW)
    view = current_account(caller, accounts=deps.accounts, cipher=deps.cipher)
    return AccountOut.model_validate(view.to_public(deps.public_base_url(router)))


@router.post(
    "/api/accounts/current/webhook-token/rotate",
    summary="Rotate the lead webhook token",
    description="The old token is refused within 60 seconds (warm caches).",
    security=deps.API_KEY_SECURITY,
    tags=["Account"],
    responses=responses(
        200, 404, 409, *KEYED, why={409: "The token was rotated concurrently; read the account again"}
    ),
)
def post_rotate_token() -> WebhookTokenOut:
    caller = deps.principal(router, Scope.ACCOUNT_MANAGE)
    view = rotate_webhook_token(caller, accounts=deps.accounts, cipher=deps.cipher, now=utc_now())
    return WebhookTokenOut(
        webhookToken=view.webhook_token,
        webhookUrl=webhook_url(deps.public_base_url(router), view.webhook_token),
    )
