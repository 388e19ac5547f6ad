"""Webhook tokens: the secret in a lead webhook's URL that names its account (stored as a hash only)."""

from __future__ import annotations

import re

from leadhub.accounts.models import TokenOwner
from leadhub.accounts.ports import TokenOwners
from leadhub.platform.ids import token_hash

WEBHOOK_TOKEN_PREFIX = "lht"  # noqa: S105 - a prefix, not a secret
_WEBHOOK_TOKEN_SHAPE = re.compile(r"lht_[A-Za-z0-9_-]{32}")


def token_owner(token: str, *, owners: TokenOwners) -> TokenOwner | None:
    """The account that holds `token`; anything not shaped like one of our tokens is refused unlooked-up."""
    return owners.find_token_owner(token_hash(token)) if _WEBHOOK_TOKEN_SHAPE.fullmatch(token) else None
