"""Connected channels in general: where they are stored, showing one, disconnecting one."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from leadhub.errors import NotFound
from leadhub.models.audit import AuditEntry
from leadhub.models.conversation import Channel
from leadhub.models.integration import Integration
from leadhub.timestamps import to_iso

# Where each provider's webhooks reach Leadhub: the URL entered at Meta; Telegram's we register ourselves;
# Resend's is the deployment's (one for every account).
WEBHOOK_PATHS = {
    Channel.WHATSAPP: "/api/webhooks/meta-whatsapp",
    Channel.TELEGRAM: "/api/webhooks/telegram",
    Channel.EMAIL: "/api/webhooks/email",
}


class IntegrationStore(Protocol):
    def get(self, account_id: str, channel: Channel) -> Integration | None: ...

    def save(self, integration: Integration, previous: Integration | None, audit: AuditEntry) -> bool:
        """False when another account holds the integration's route or its claim key; the previous
        integration's route and claim are released when the new one has others."""

    def delete(self, integration: Integration, audit: AuditEntry) -> None:
        """Also releases its route and claim."""

    def claim(self, channel: Channel, key: str, account_id: str, at: str, abandoned_before: str) -> bool:
        """Reserve `key` for the account before the provider is told anything; False when another
        account holds it. A claim that no saved integration confirmed since `abandoned_before` (its
        connect died half-way) is free again."""

    def release(self, channel: Channel, key: str, account_id: str) -> None:
        """Drop the account's claim on `key`; another account's claim stays."""


def get_integration(account_id: str, channel: Channel, *, integrations: IntegrationStore) -> Integration:
    found = integrations.get(account_id, channel)
    if found is None:
        raise NotFound(f"No {channel.value} integration is connected")
    return found


def disconnect(
    account_id: str,
    channel: Channel,
    *,
    integrations: IntegrationStore,
    actor: str,
    now: datetime,
    source: str = "api",
) -> Integration:
    found = get_integration(account_id, channel, integrations=integrations)
    target = {"channel": channel.value}
    audit = AuditEntry(
        account_id, "integration.disconnected", source, to_iso(now), actor=actor, target=target
    )
    integrations.delete(found, audit)
    return found
