"""Request bodies about outbound webhook endpoints and their deliveries that the management API and the
dashboard's forms both validate."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import Field

from leadhub.outbound.models import VerificationMode
from leadhub.platform.request_models import RequestSchema

if TYPE_CHECKING:
    from leadhub.outbound.endpoints import EndpointChanges

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
    payloadTemplate: dict[str, Any] | list[Any] | str | None = Field(
        None, description="JSON with {{placeholders}} in strings; sent instead of the event envelope"
    )
    headers: dict[str, str] | None = Field(
        None, description="Custom headers, encrypted at rest, redacted on read"
    )
    enabled: bool | None = None
    verification: VerificationMode | None = Field(None, description=VERIFICATION_MODE_DESCRIPTION)

    def changes(self) -> EndpointChanges:
        """What the request changes: a field left out keeps its value, null clears it."""
        import json

        from leadhub.outbound.endpoints import EndpointChanges

        given = self.model_fields_set
        template = self.payloadTemplate
        return EndpointChanges(
            name=self.name,
            url=self.url,
            events=self.events,
            account_filter=self.accountFilter,
            clear_account_filter="accountFilter" in given and self.accountFilter is None,
            payload_template=json.dumps(template) if isinstance(template, dict | list) else template,
            clear_payload_template="payloadTemplate" in given and template is None,
            headers=self.headers,
            enabled=self.enabled,
            verification_mode=self.verification,
            secret=self.secret if isinstance(self, EndpointCreateRequest) else None,
        )


class EndpointCreateRequest(EndpointRequest):
    """Create: name and url required."""

    secret: str | None = Field(None, max_length=200, description=BRING_YOUR_OWN_DESCRIPTION)


class RotateSecretRequest(RequestSchema):
    secret: str | None = Field(None, max_length=200, description=BRING_YOUR_OWN_DESCRIPTION)


class RecoverRequest(RequestSchema):
    since: datetime = Field(
        description="Re-enqueue failed deliveries created since then (at most 14 days ago)"
    )
    includeSkipped: bool = Field(
        False, description="Also the deliveries skipped while the endpoint was disabled"
    )
