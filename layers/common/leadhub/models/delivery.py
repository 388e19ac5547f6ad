"""Outbound deliveries: one event to one endpoint, its queue message and its attempt log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from leadhub.platform.ids import derived_id


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # queued or waiting for its next attempt
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt failed: the message is in the DLQ (recover re-enqueues it)
    SKIPPED = "skipped"  # the endpoint was deleted, disabled or unverified when its turn came


def delivery_id_for(event_id: str, endpoint_id: str) -> str:
    """Stable per (event, endpoint): stream redelivery and retries carry the same `webhook-id`."""
    return derived_id("msg", event_id, endpoint_id)


@dataclass(frozen=True, slots=True)
class DeliveryJob:
    """The body of a DeliveryQueue message: everything a delivery attempt needs besides the endpoint."""

    delivery_id: str
    account_id: str  # the endpoint's owner
    endpoint_id: str
    envelope: dict[str, Any]  # {"id", "event", "timestamp", "accountId", "data"}
    manual: bool = False  # a one-off retry from the API: does not move the schedule on

    @property
    def event(self) -> str:
        return str(self.envelope["event"])

    def to_message(self) -> str:
        return json.dumps(
            {
                "deliveryId": self.delivery_id,
                "accountId": self.account_id,
                "endpointId": self.endpoint_id,
                "envelope": self.envelope,
                "manual": self.manual,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_message(cls, body: str) -> DeliveryJob:
        """Raises ValueError/KeyError/TypeError for a body that is not a delivery job."""
        data = json.loads(body)
        return cls(
            delivery_id=str(data["deliveryId"]),
            account_id=str(data["accountId"]),
            endpoint_id=str(data["endpointId"]),
            envelope=dict(data["envelope"]),
            manual=bool(data.get("manual", False)),
        )


@dataclass(frozen=True, slots=True)
class Delivery:
    """The delivery log record (one per job), updated after every attempt."""

    account_id: str
    delivery_id: str
    endpoint_id: str
    event_id: str
    event: str
    source_account_id: str  # whose fact it is (an agency endpoint also gets managed accounts' events)
    created_at: str
    updated_at: str
    envelope: dict[str, Any]
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    enqueued: bool = False
    last_status_code: int | None = None
    last_error: str | None = None
    next_attempt_at: str | None = None
    delivered_at: str | None = None

    def to_public(self) -> dict[str, object]:
        return {
            "deliveryId": self.delivery_id,
            "endpointId": self.endpoint_id,
            "eventId": self.event_id,
            "event": self.event,
            "accountId": self.source_account_id,
            "status": str(self.status),
            "attempts": self.attempts,
            "lastStatusCode": self.last_status_code,
            "lastError": self.last_error,
            "nextAttemptAt": self.next_attempt_at,
            "deliveredAt": self.delivered_at,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class Attempt:
    delivery_id: str
    number: int
    at: str
    duration_ms: float
    status_code: int | None = None
    error_class: str | None = None
    response_snippet: str = ""  # at most 1 KiB, decoded leniently
    next_attempt_at: str | None = None
    manual: bool = False

    def to_public(self) -> dict[str, object]:
        return {
            "attempt": self.number,
            "at": self.at,
            "durationMs": round(self.duration_ms, 1),
            "statusCode": self.status_code,
            "errorClass": self.error_class,
            "responseSnippet": self.response_snippet,
            "nextAttemptAt": self.next_attempt_at,
            "manual": self.manual,
        }
