"""Signing outbound webhooks: endpoint secrets and the signature headers of every delivery.

Two schemes ride on every request (README "Receiving Leadhub webhooks", drafted in docs/receivers.md):

- Standard Webhooks (https://www.standardwebhooks.com): `webhook-id`, `webhook-timestamp` and
  `webhook-signature: v1,<base64 HMAC-SHA256>` over `"{id}.{timestamp}.{body}"`, keyed by the base64
  *decoded* secret. It binds the id and the time (replay protection) and carries one signature per
  valid secret, so receivers keep verifying through a secret rotation. Any Standard Webhooks library
  verifies it.
- `X-Leadhub-Signature: sha256=<hex HMAC-SHA256 of the raw body>` keyed by the secret *string*, for
  receivers that just want GitHub-style plain HMAC. A header of this shape holds one value, so it is
  signed with the newest secret only: after a rotation these receivers switch to the new secret (a
  delivery they reject with a non-2xx status is retried on the schedule).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from secrets import token_bytes

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
SECRET_BYTES = 32  # Standard Webhooks allows 24-64 bytes
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
DEFAULT_TOLERANCE_SECONDS = 300  # what the standardwebhooks libraries accept either side of "now"

WEBHOOK_ID = "webhook-id"
WEBHOOK_TIMESTAMP = "webhook-timestamp"
WEBHOOK_SIGNATURE = "webhook-signature"
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


def secret_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret: the base64 after `whsec_`, decoded.

    Raises ValueError for text that is not base64 or decodes to fewer than 24 or more than 64 bytes.
    """
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        # Tolerate missing padding, as the reference libraries do.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret is 'whsec_' followed by base64") from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise ValueError(
            f"a webhook secret holds {MIN_SECRET_BYTES}-{MAX_SECRET_BYTES} bytes, not {len(key)}"
        )
    return key


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,` + base64 HMAC-SHA256 of `"{msg_id}.{timestamp}." + body`, keyed by the decoded secret."""
    signed = f"{msg_id}.{int(timestamp)}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


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


def verify_standard_signature(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: int,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """Whether `headers` carry a valid Standard Webhooks signature of `body` by `secret`, at a
    timestamp within `tolerance_seconds` of `now`. For our own loopback receivers (tests, local stack);
    customers use a Standard Webhooks library. Constant-time comparison; never raises on bad input."""
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get(WEBHOOK_ID)
    timestamp_text = lowered.get(WEBHOOK_TIMESTAMP, "")
    if not (msg_id and timestamp_text.isascii() and timestamp_text.isdigit()):
        return False
    if abs(now - int(timestamp_text)) > tolerance_seconds:
        return False
    try:
        expected = standard_signature(secret, msg_id, int(timestamp_text), body)
    except ValueError:
        return False
    offered = lowered.get(WEBHOOK_SIGNATURE, "").split()
    # Compare every candidate: the time taken does not reveal which one matched.
    matches = [hmac.compare_digest(expected.encode(), candidate.encode()) for candidate in offered]
    return any(matches)


def verify_leadhub_signature(secret: str, body: bytes, header_value: str | None) -> bool:
    """Whether `X-Leadhub-Signature` is the plain HMAC of `body` by `secret` (constant-time)."""
    if not header_value:
        return False
    return hmac.compare_digest(leadhub_signature(secret, body).encode(), header_value.strip().encode())
