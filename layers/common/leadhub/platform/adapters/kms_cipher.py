"""Secrets at rest, encrypted with the stack's KMS key and bound to an encryption context."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadhub.platform.adapters.aws_clients import ClientFactory, client, storage_errors


class KmsCipher:
    def __init__(self, key_id: str, clients: ClientFactory = client) -> None:
        self._key_id = key_id
        self._clients = clients

    @property
    def _kms(self) -> Any:
        return self._clients("kms")

    def encrypt(self, plaintext: str, context: Mapping[str, str]) -> bytes:
        with storage_errors("encrypt"):
            result = self._kms.encrypt(
                KeyId=self._key_id, Plaintext=plaintext.encode(), EncryptionContext=dict(context)
            )
        return bytes(result["CiphertextBlob"])

    def decrypt(self, ciphertext: bytes, context: Mapping[str, str]) -> str:
        with storage_errors("decrypt"):
            result = self._kms.decrypt(
                KeyId=self._key_id, CiphertextBlob=ciphertext, EncryptionContext=dict(context)
            )
        return bytes(result["Plaintext"]).decode()
