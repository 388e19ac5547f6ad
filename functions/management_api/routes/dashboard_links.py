"""One-time dashboard sign-in links, e.g. for an agency's client."""

from __future__ import annotations

import deps
from aws_lambda_powertools.event_handler.api_gateway import Router
from schemas import JSON_BODY, KEYED, responses
from schemas.dashboard_links import CreateSignInLinkRequest, SignInLinkOut

from leadhub.accounts.models import Scope
from leadhub.dashboard.links import mint_sign_in_link
from leadhub.platform.timestamps import utc_now

router = Router()


@router.post(
    "/api/dashboard/links",
    summary="Create a one-time dashboard sign-in link",
    description="Valid 15 minutes, used once. Its scopes are at most the caller's; with accountId, an agency "
    "signs its client in to that managed account only.",
    security=deps.API_KEY_SECURITY,
    tags=["Dashboard"],
    responses=responses(201, *JSON_BODY, *KEYED),
)
def post_sign_in_link(request: CreateSignInLinkRequest) -> tuple[SignInLinkOut, int]:
    caller = deps.principal(router, Scope.ACCOUNT_MANAGE)
    scopes = [str(scope) for scope in request.scopes] if request.scopes is not None else None
    minted = mint_sign_in_link(
        caller, scopes, request.accountId, accounts=deps.accounts, links=deps.sign_in_links(), now=utc_now()
    )
    return SignInLinkOut(url=minted.url(deps.public_base_url(router)), expiresAt=minted.link.expires_at), 201
