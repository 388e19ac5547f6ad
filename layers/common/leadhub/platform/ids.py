"""Identifiers, secret tokens and their hashes."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import time

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def _base32(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    length = (len(data) * 8 + 4) // 5
    return "".join(_CROCKFORD[(number >> (5 * i)) & 31] for i in reversed(range(length)))


def sortable_id(prefix: str) -> str:
    """`prefix_` + 48-bit millisecond time + 80 random bits, Crockford base32: sorts by creation time."""
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{_base32(millis.to_bytes(6, 'big') + os.urandom(10))}"


def derived_id(prefix: str, *parts: str) -> str:
    """A stable id for a natural key (e.g. account + phone): the same key always yields the same id,
    which is what makes deduplication a single conditional write."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()[:16]
    return f"{prefix}_{_base32(digest)}"


def secret_token(prefix: str, nbytes: int = 24) -> str:
    """A bearer secret with `nbytes` of randomness (192 bits by default), URL-safe."""
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"


def token_hash(token: str) -> str:
    """Secrets are stored and looked up by this hash only; a high-entropy token needs no salt."""
    return hashlib.sha256(token.encode()).hexdigest()


def encode_cursor(key: dict[str, str]) -> str:
    raw = "\x1f".join(f"{k}\x1e{v}" for k, v in sorted(key.items())).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, str] | None:
    """The key a cursor names, or None when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return dict(pair.split("\x1e", 1) for pair in raw.split("\x1f"))
    except (ValueError, UnicodeDecodeError):
        return None
