"""Outbound webhook endpoints."""

from __future__ import annotations

from pydantic import Field

from leadhub.outbound.models import VerificationMode

# Request bodies: the dashboard's forms validate with them too.
from leadhub.outbound.request_models import VERIFICATION_MODE_DESCRIPTION as VERIFICATION_MODE_DESCRIPTION
from leadhub.outbound.request_models import EndpointCreateRequest as EndpointCreateRequest
from leadhub.outbound.request_models import EndpointRequest as EndpointRequest
from leadhub.outbound.request_models import RotateSecretRequest as RotateSecretRequest
from schemas import Schema


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
