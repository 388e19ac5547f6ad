"""Deployment secrets kept in SSM Parameter Store (SecureString), cached for five minutes.

Read with our cached SSM client rather than Powertools' parameters utility: that utility imports boto3
(and its other providers) into functions that otherwise do without it, ~30 ms of the first request that
reads a secret, for one GetParameter call and a cache. What it did is what this does: the decrypted
value, kept for SECRET_MAX_AGE_SECONDS, a failed read not kept (the next request tries again)."""

from __future__ import annotations

import time
from collections.abc import Callable

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from leadhub.platform.adapters.aws_clients import ClientFactory, client
from leadhub.platform.ttl_cache import TtlCache

logger = Logger(child=True)

SECRET_MAX_AGE_SECONDS = 300


class SsmSecret:
    """One SecureString parameter; None (and an error log) when it does not exist or cannot be read."""

    def __init__(
        self,
        parameter_name: str,
        clients: ClientFactory = client,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._name = parameter_name
        self._clients = clients
        self._cache: TtlCache[str, str] = TtlCache(SECRET_MAX_AGE_SECONDS, max_entries=1, clock=clock)

    def value(self) -> str | None:
        try:
            return self._cache.get_or_load(self._name, self._read)
        except (BotoCoreError, ClientError):
            logger.error("secret parameter is missing or unreadable", extra={"parameter": self._name})
            return None

    def _read(self, name: str) -> str:
        answer = self._clients("ssm").get_parameter(Name=name, WithDecryption=True)
        return str(answer["Parameter"]["Value"])
