"""What Leadhub sends out: webhook endpoints (where an account's events go, and how they are signed) and
deliveries (one event to one endpoint, its queue message and its attempt log)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from leadhub.accounts.models import Plan
from leadhub.platform.ids import derived_id

SUBSCRIBABLE_EVENTS: tuple[str, ...] = (
    "lead.created",
    "lead.updated",
    "lead.re_engaged",
    "conversation.created",
    "message.received",
    "message.sent",
    "message.status",
    "automation.triggered",
    "conversation.closed",
    "endpoint.disabled",
)

# Endpoints an account may register; None = unlimited.
ENDPOINT_LIMITS: dict[Plan, int | None] = {Plan.FREE: 1, Plan.STARTER: 3, Plan.PRO: 10, Plan.BUSINESS: None}


# The `disabled_reason` of an endpoint its owner disabled (PATCH enabled: false), as stored.
DISABLED_THROUGH_API = "api"


class Verification(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    FAILED = "failed"


class VerificationMode(StrEnum):
    """What the signed `webhook.verify` POST must get back for the endpoint to receive events."""

    PING = "ping"  # any 2xx: catch hooks (Zapier, Make, n8n), Slack, CRM inbound URLs cannot echo
    ECHO = "echo"  # a 2xx echoing the verifyToken: proof that the receiver's own code opted in


# For new endpoints: every receiver that can echo also answers 2xx, and most receivers cannot echo.
DEFAULT_VERIFICATION_MODE = VerificationMode.PING


@dataclass(frozen=True, slots=True)
class EndpointSecret:
    """One signing secret, KMS-encrypted. The previous secret keeps signing until `expires_at`."""

    ciphertext: bytes
    created_at: str
    expires_at: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    account_id: str
    endpoint_id: str
    name: str
    url: str
    secrets: tuple[EndpointSecret, ...]  # newest first
    created_at: str
    updated_at: str
    events: tuple[str, ...] = ()  # empty: every event
    account_filter: tuple[str, ...] | None = None  # managed accounts to include; None: all of them
    payload_template: str | None = None
    header_names: tuple[str, ...] = ()  # custom header names (values are in headers_ciphertext)
    headers_ciphertext: bytes | None = None
    enabled: bool = True
    verification: Verification = Verification.PENDING
    verification_mode: VerificationMode = DEFAULT_VERIFICATION_MODE
    verified_at: str | None = None
    verification_error: str | None = None
    disabled_reason: str | None = None
    # When deliveries to it started exhausting every attempt (none succeeded since); the delivery worker
    # disables the endpoint once this is ENDPOINT_AUTO_DISABLE_HOURS old. Cleared by any success.
    failing_since: str | None = None
    version: int = 1

    @property
    def active(self) -> bool:
        """Whether deliveries go out: enabled and verified."""
        return self.enabled and self.verification is Verification.VERIFIED

    @property
    def inactive_reason(self) -> str | None:
        """Why deliveries do not go out (what a skipped delivery records); None when it is active."""
        if not self.enabled:
            if self.disabled_reason == DISABLED_THROUGH_API:
                return "endpoint disabled through the API"
            return (
                f"endpoint disabled ({self.disabled_reason})" if self.disabled_reason else "endpoint disabled"
            )
        if self.verification is not Verification.VERIFIED:
            return "endpoint not verified"
        return None

    def subscribes_to(self, event: str) -> bool:
        return not self.events or event in self.events

    def covers_account(self, source_account_id: str) -> bool:
        """An agency's endpoint receives its own events and (all or the listed) managed accounts'."""
        if source_account_id == self.account_id:
            return True
        return self.account_filter is None or source_account_id in self.account_filter

    def to_public(self) -> dict[str, object]:
        """Never the secret; custom header values are redacted."""
        return {
            "endpointId": self.endpoint_id,
            "name": self.name,
            "url": self.url,
            "events": list(self.events),
            "accountFilter": None if self.account_filter is None else list(self.account_filter),
            "payloadTemplate": self.payload_template,
            "headers": {name: "***" for name in self.header_names},
            "enabled": self.enabled,
            "receivesEvents": self.active,
            "verification": {
                "mode": str(self.verification_mode),
                "status": str(self.verification),
                "verifiedAt": self.verified_at,
                "error": self.verification_error,
            },
            "disabledReason": self.disabled_reason,
            "secretRotation": {
                "previousSecretExpiresAt": self.secrets[1].expires_at if len(self.secrets) > 1 else None
            },
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


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
