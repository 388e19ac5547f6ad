"""Standard Webhooks (https://www.standardwebhooks.com) signatures, both ways: Leadhub signs its outbound
deliveries with them (outbound.signing), and Resend signs its inbound email webhooks the same way (Svix).

`webhook-signature: v1,<base64 HMAC-SHA256>` over `"{id}.{timestamp}.{body}"`, keyed by the base64
*decoded* `whsec_` secret; one signature per valid secret, so a verifier keeps verifying through a
secret rotation."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
SECRET_BYTES = 32  # Standard Webhooks allows 24-64 bytes
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
DEFAULT_TOLERANCE_SECONDS = 300  # what the standardwebhooks libraries accept either side of "now"


WEBHOOK_ID = "webhook-id"
WEBHOOK_TIMESTAMP = "webhook-timestamp"
WEBHOOK_SIGNATURE = "webhook-signature"


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


def verify_standard_signature(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: int,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """Whether `headers` carry a valid Standard Webhooks signature of `body` by `secret`, at a
    timestamp within `tolerance_seconds` of `now`. Constant-time comparison; never raises on bad
    input."""
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
