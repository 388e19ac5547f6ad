"""Signing outbound webhooks: endpoint secrets and the signature headers of every delivery, in two schemes
(README "Verifying our webhooks in your receiver"): Standard Webhooks (platform.standard_webhooks: binds
the id and the time, one signature per valid secret), and `X-Leadhub-Signature: sha256=<hex HMAC-SHA256
of the raw body>` keyed by the secret string, for plain-HMAC receivers. That header holds one value, so
it is signed with the newest secret only: after a rotation such receivers switch to the new secret (a
delivery they reject is retried on the schedule)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from secrets import token_bytes

from leadhub.platform.standard_webhooks import (
    SECRET_BYTES,
    SECRET_PREFIX,
    WEBHOOK_ID,
    WEBHOOK_SIGNATURE,
    WEBHOOK_TIMESTAMP,
    secret_key,
    standard_signature,
)

LEADHUB_SIGNATURE = "X-Leadhub-Signature"
LEADHUB_EVENT = "X-Leadhub-Event"
LEADHUB_DELIVERY_ID = "X-Leadhub-Delivery-Id"


def new_endpoint_secret() -> str:
    """`whsec_` + standard (padded) base64 of 32 random bytes, the Standard Webhooks secret format."""
    return SECRET_PREFIX + base64.b64encode(token_bytes(SECRET_BYTES)).decode("ascii")


def checked_secret(secret: str) -> str:
    """A secret a client chose, unchanged, or ValueError saying what is wrong with it: `whsec_` and the
    standard, padded base64 (what every Standard Webhooks library decodes) of 24-64 random bytes."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with 'whsec_'")
    key = secret_key(secret)
    if base64.b64encode(key).decode("ascii") != secret.removeprefix(SECRET_PREFIX):
        raise ValueError("a webhook secret is 'whsec_' followed by standard base64 with its '=' padding")
    # Random bytes almost never repeat this much (p < 1e-14 for 24 bytes); typed or patterned ones do.
    if len(set(key)) < len(key) // 2:
        raise ValueError("the secret's bytes repeat too much to be random; generate 32 random bytes")
    return secret


def leadhub_signature(secret: str, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 of the raw body, keyed by the UTF-8 of the whole `whsec_…` string."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_headers(
    secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes, event: str
) -> dict[str, str]:
    """The signature headers of one delivery attempt.

    `secrets` are the endpoint's valid secrets, newest first (the current one, then a previous one
    still inside its rotation overlap); `webhook-signature` carries one `v1,` signature per secret,
    `X-Leadhub-Signature` the newest secret's only. `msg_id` is the delivery id, the same for every
    attempt so receivers can deduplicate; `timestamp` (Unix seconds) is the time of *this* attempt,
    because receivers reject timestamps more than a few minutes away from their clock.
    """
    if not secrets:
        raise ValueError("at least one signing secret is needed")
    unique = list(dict.fromkeys(secrets))
    return {
        WEBHOOK_ID: msg_id,
        WEBHOOK_TIMESTAMP: str(int(timestamp)),
        WEBHOOK_SIGNATURE: " ".join(standard_signature(s, msg_id, timestamp, body) for s in unique),
        LEADHUB_SIGNATURE: leadhub_signature(unique[0], body),
        LEADHUB_EVENT: event,
        LEADHUB_DELIVERY_ID: msg_id,
    }


def verify_leadhub_signature(secret: str, body: bytes, header_value: str | None) -> bool:
    """Whether `X-Leadhub-Signature` is the plain HMAC of `body` by `secret` (constant-time)."""
    if not header_value:
        return False
    return hmac.compare_digest(leadhub_signature(secret, body).encode(), header_value.strip().encode())
