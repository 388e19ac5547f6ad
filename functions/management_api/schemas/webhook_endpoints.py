"""Outbound webhook endpoints."""

from __future__ import annotations

from pydantic import Field

from schemas import RequestSchema, Schema


class EndpointRequest(RequestSchema):
    """Create (name and url required) or PATCH (every field optional; null clears accountFilter and
    payloadTemplate)."""

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


class EndpointVerificationOut(Schema):
    status: str
    verifiedAt: str | None
    error: str | None


class EndpointOut(Schema):
    endpointId: str
    name: str
    url: str
    events: list[str]
    accountFilter: list[str] | None
    payloadTemplate: str | None
    headers: dict[str, str]
    enabled: bool
    verification: EndpointVerificationOut
    disabledReason: str | None
    secretRotation: dict[str, str | None]
    createdAt: str
    updatedAt: str


class EndpointWithSecretOut(EndpointOut):
    secret: str = Field(description="The signing secret (whsec_...). Shown only in this response.")


class EndpointListOut(Schema):
    items: list[EndpointOut]
