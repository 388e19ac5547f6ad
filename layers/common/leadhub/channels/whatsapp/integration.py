"""Connecting an account's WhatsApp Business number: the access token is checked against the Graph API
(the number must belong to the business account), our app is subscribed to the account's webhooks, the
token is stored encrypted, and the phone number id routes Meta's webhooks to the account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leadhub.accounts.audit import AuditEntry
from leadhub.channels.models import Integration, credential_context
from leadhub.channels.ports import IntegrationStore
from leadhub.channels.whatsapp.ports import GraphApiPort
from leadhub.conversations.models import Channel
from leadhub.platform.errors import Conflict, FieldError, InvalidRequest
from leadhub.platform.ports import SecretCipher
from leadhub.platform.timestamps import to_iso


class GraphRefused(Exception):
    """The Graph API refused a request; the message is Meta's own description."""


@dataclass(frozen=True, slots=True)
class WhatsAppConnection:
    waba_id: str
    phone_number_id: str
    access_token: str


def connect_whatsapp(
    account_id: str,
    request: WhatsAppConnection,
    *,
    graph: GraphApiPort,
    integrations: IntegrationStore,
    cipher: SecretCipher,
    actor: str,
    now: datetime,
    source: str = "api",
) -> Integration:
    try:
        numbers = graph.phone_numbers(request.waba_id, request.access_token)
        number = next((n for n in numbers if str(n.get("id")) == request.phone_number_id), None)
        if number is None:
            raise InvalidRequest(
                "Invalid WhatsApp connection",
                [FieldError("phoneNumberId", "is not a phone number of this WhatsApp Business account")],
            )
        graph.subscribe_app(request.waba_id, request.access_token)
    except GraphRefused as exc:
        raise InvalidRequest(
            "The Graph API refused the connection", [FieldError("accessToken", f"Graph API: {exc}")]
        ) from None
    at = to_iso(now)
    integration = Integration(
        account_id=account_id,
        channel=Channel.WHATSAPP,
        route_key=request.phone_number_id,
        connected_at=at,
        credential=cipher.encrypt(request.access_token, credential_context(account_id, Channel.WHATSAPP)),
        settings={
            "wabaId": request.waba_id,
            "phoneNumberId": request.phone_number_id,
            "displayPhoneNumber": str(number.get("display_phone_number") or ""),
            "verifiedName": str(number.get("verified_name") or ""),
        },
    )
    previous = integrations.get(account_id, Channel.WHATSAPP)
    audit = AuditEntry(
        account_id, "integration.connected", source, at, actor=actor, target={"channel": "whatsapp"}
    )
    if not integrations.save(integration, previous, audit):
        raise Conflict("This WhatsApp phone number is connected to another account")
    return integration
