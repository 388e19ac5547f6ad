"""Deliveries, their attempts, retries, recovery and test sends."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from leadhub.outbound.request_models import RecoverRequest as RecoverRequest  # the dashboard's form too
from schemas import Schema


class DeliveryOut(Schema):
    deliveryId: str
    endpointId: str
    eventId: str
    event: str
    accountId: str
    status: str
    attempts: int
    lastStatusCode: int | None
    lastError: str | None
    nextAttemptAt: str | None
    deliveredAt: str | None
    createdAt: str
    updatedAt: str


class AttemptOut(Schema):
    attempt: int
    at: str
    durationMs: float
    statusCode: int | None
    errorClass: str | None
    responseSnippet: str
    nextAttemptAt: str | None
    manual: bool


class DeliveryDetailOut(DeliveryOut):
    payload: dict[str, Any] = Field(
        description="The event envelope as delivered (before any payload template)"
    )
    attemptLog: list[AttemptOut]


class DeliveryPageOut(Schema):
    items: list[DeliveryOut]
    nextCursor: str | None


class RecoverOut(Schema):
    requeued: int


class TestSendOut(Schema):
    delivered: bool = Field(description="The test request got a 2xx answer")
    statusCode: int | None
    durationMs: float
    error: str | None
    receivesEvents: bool = Field(
        description="Whether events are delivered to the endpoint: a test reaches an unverified or "
        "disabled endpoint, events do not"
    )
    reason: str | None = Field(description="Why the endpoint receives no events, and what to do")
