"""Decrypted secrets remembered for a few minutes in a warm execution environment."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from leadhub.platform.ports import SecretCipher
from leadhub.platform.ttl_cache import TtlCache

_Key = tuple[bytes, tuple[tuple[str, str], ...]]  # the ciphertext and its encryption context


class DecryptionCache:
    """A `SecretCipher` that remembers decryptions for `ttl_s`.

    A ciphertext always decrypts to the same plaintext (a rotated secret or edited header set is a new
    ciphertext), so a cached answer is never stale; the time limit only bounds how long plaintext
    secrets stay in memory. A batch of deliveries to one endpoint decrypts its secrets once instead of
    calling KMS for every delivery. Thread-safe: the worker sends a batch from several threads."""

    def __init__(
        self,
        inner: SecretCipher,
        ttl_s: float = 300.0,
        max_entries: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._plaintexts: TtlCache[_Key, str] = TtlCache(ttl_s, max_entries, clock)

    def __len__(self) -> int:
        return len(self._plaintexts)

    def encrypt(self, plaintext: str, context: Mapping[str, str]) -> bytes:
        return self._inner.encrypt(plaintext, context)

    def decrypt(self, ciphertext: bytes, context: Mapping[str, str]) -> str:
        key = (bytes(ciphertext), tuple(sorted(context.items())))
        return self._plaintexts.get_or_load(key, lambda _: self._inner.decrypt(ciphertext, context))
