"""The platform's ports: KMS encryption and deployment secrets (SSM), as domain code sees them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class SecretCipher(Protocol):
    def encrypt(self, plaintext: str, context: Mapping[str, str]) -> bytes: ...

    def decrypt(self, ciphertext: bytes, context: Mapping[str, str]) -> str: ...


class SecretSource(Protocol):
    """A deployment secret (e.g. the admin key); None when it is not configured."""

    def value(self) -> str | None: ...
