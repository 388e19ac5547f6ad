"""One-time dashboard sign-in links."""

from __future__ import annotations

from pydantic import Field

from leadhub.accounts.models import Scope
from schemas import RequestSchema, Schema


class CreateSignInLinkRequest(RequestSchema):
    scopes: list[Scope] | None = Field(
        None, min_length=1, description="What the session may do; the caller's own scopes when absent."
    )
    accountId: str | None = Field(
        None, max_length=64, description="A managed account of the caller's (agency) account to sign in to."
    )


class SignInLinkOut(Schema):
    url: str = Field(description="Open it to sign in; it works once.")
    expiresAt: str
