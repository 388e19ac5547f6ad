"""Outbound webhook endpoints."""

from __future__ import annotations

from pydantic import Field

from leadhub.outbound.models import VerificationMode
from schemas import RequestSchema, Schema

VERIFICATION_MODE_DESCRIPTION = (
    "How the signed webhook.verify POST verifies the endpoint: `ping` (default), any 2xx answer; "
    "`echo`, a 2xx whose body echoes the verifyToken. Changing it runs the handshake again."
)
BRING_YOUR_OWN_DESCRIPTION = (
    "Your own signing secret, so that the receiver can check the first handshake's signature: `whsec_` "
    "and the standard, padded base64 of 24-64 random bytes. Absent: Leadhub generates one."
)


class EndpointRequest(RequestSchema):
    """PATCH: every field optional; null clears accountFilter and payloadTemplate."""

    name: str | None = Field(None, min_length=1, max_length=200)
    url: str | None = Field(None, min_length=1, max_length=2048, description="HTTPS, public addresses only")
    events: list[str] | None = Field(None, max_length=20, description="Event types; empty or absent = all")
    accountFilter: list[str] | None = Field(
        None,
        max_length=500,
        description="Agencies: only these managed accounts' events (own always included)",
    )
    payloadTemplate: dict | list | str | None = Field(
        None, description="JSON with {{placeholders}} in strings; sent instead of the event envelope"
    )
    headers: dict[str, str] | None = Field(
        None, description="Custom headers, encrypted at rest, redacted on read"
    )
    enabled: bool | None = None
    verification: VerificationMode | None = Field(None, description=VERIFICATION_MODE_DESCRIPTION)


class EndpointCreateRequest(EndpointRequest):
    """Create: name and url required."""

    secret: str | None = Field(None, max_length=200, description=BRING_YOUR_OWN_DESCRIPTION)


class RotateSecretRequest(RequestSchema):
    secret: str | None = Field(None, max_length=200, description=BRING_YOUR_OWN_DESCRIPTION)


class EndpointVerificationOut(Schema):
    mode: VerificationMode = Field(description=VERIFICATION_MODE_DESCRIPTION)
    status: str = Field(description="pending, verified or failed; only a verified endpoint receives events")
    verifiedAt: str | None
    error: str | None = Field(description="Why the last handshake failed, and what to change")


class EndpointOut(Schema):
    endpointId: str
    name: str
    url: str
    events: list[str]
    accountFilter: list[str] | None
    payloadTemplate: str | None
    headers: dict[str, str]
    enabled: bool
    receivesEvents: bool = Field(description="Enabled and verified: events are delivered to it")
    verification: EndpointVerificationOut
    disabledReason: str | None
    secretRotation: dict[str, str | None]
    createdAt: str
    updatedAt: str


class EndpointWithSecretOut(EndpointOut):
    secret: str = Field(
        description="The signing secret (whsec_...): your own, or the one Leadhub generated, which is "
        "shown only in this response."
    )


class EndpointListOut(Schema):
    items: list[EndpointOut]
