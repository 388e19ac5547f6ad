"""Deployment secrets kept in SSM Parameter Store (SecureString), cached by Powertools parameters."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from leadhub.adapters.aws import ClientFactory, client

logger = Logger(child=True)

SECRET_MAX_AGE_SECONDS = 300


class SsmSecret:
    """One SecureString parameter; None (and an error log) when it does not exist."""

    def __init__(self, parameter_name: str, clients: ClientFactory = client) -> None:
        self._name = parameter_name
        self._clients = clients
        self._provider: Any = None

    def value(self) -> str | None:
        # Imported on first use: only the functions that read secrets pay for it.
        from aws_lambda_powertools.utilities import parameters

        if self._provider is None:
            # Our cached SSM client rather than one of Powertools' own: that would come from a boto3
            # session of its own, which loads botocore's endpoint and model files again (~70 ms).
            self._provider = parameters.SSMProvider(boto3_client=self._clients("ssm"))
        try:
            secret: str = self._provider.get(self._name, decrypt=True, max_age=SECRET_MAX_AGE_SECONDS)
        except parameters.exceptions.GetParameterError:
            logger.error("secret parameter is missing or unreadable", extra={"parameter": self._name})
            return None
        return secret
