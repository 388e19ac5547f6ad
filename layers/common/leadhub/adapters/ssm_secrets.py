"""Deployment secrets kept in SSM Parameter Store (SecureString), cached by Powertools parameters."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(child=True)

SECRET_MAX_AGE_SECONDS = 300


class SsmSecret:
    """One SecureString parameter; None (and an error log) when it does not exist."""

    def __init__(self, parameter_name: str) -> None:
        self._name = parameter_name

    def value(self) -> str | None:
        # Imported on first use: only the functions that read secrets pay for it.
        from aws_lambda_powertools.utilities import parameters

        try:
            return parameters.get_parameter(self._name, decrypt=True, max_age=SECRET_MAX_AGE_SECONDS)
        except parameters.exceptions.GetParameterError:
            logger.error("secret parameter is missing or unreadable", extra={"parameter": self._name})
            return None
