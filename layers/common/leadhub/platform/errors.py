"""Domain errors. Each carries the HTTP status it maps to; handlers map them in one place
(leadhub.platform.web)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class LeadhubError(Exception):
    """Base of every error a client can cause; the message is safe to show to the caller."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, object]:
        return {"error": self.message}


class InvalidRequest(LeadhubError):
    """Malformed or invalid input; `details` names each offending field."""

    status_code = 400

    def __init__(self, message: str, details: list[FieldError] | None = None) -> None:
        super().__init__(message)
        # A problem with the body as a whole is reported against the field "body".
        self.details = details or [FieldError("body", message)]

    def body(self) -> dict[str, object]:
        return {"error": self.message, "details": [d.to_dict() for d in self.details]}


class Unauthorized(LeadhubError):
    status_code = 401


class Forbidden(LeadhubError):
    status_code = 403


class NotFound(LeadhubError):
    status_code = 404


class Conflict(LeadhubError):
    status_code = 409


class PayloadTooLarge(LeadhubError):
    status_code = 413


class UnsupportedMediaType(LeadhubError):
    status_code = 415


class TooManyRequests(LeadhubError):
    """A rate limit is spent: 429 with Retry-After (whole seconds until it frees)."""

    status_code = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1, math.ceil(retry_after))


class UnstorableInput(LeadhubError):
    """Input our storage refuses to hold (too large, nested too deeply, a key too long, a number beyond
    its range): retrying cannot help, so it is the sender's error, never a 503. Provider webhooks
    acknowledge and ignore such a message instead (their senders would retry it forever)."""

    status_code = 400


class StorageUnavailable(LeadhubError):
    """Our own storage failed: answered 503 so that the sender retries and nothing is lost."""

    status_code = 503


class SecretNotConfigured(LeadhubError):
    """A deployment secret we need (e.g. a provider's signing secret) is not set: 503, so the provider
    retries and nothing is lost once an operator sets it."""

    status_code = 503


class ProviderUnavailable(LeadhubError):
    """A provider's API (Graph API, Telegram, Resend) could not be reached or failed: 502."""

    status_code = 502
