"""Connected channels in general: where they are stored, showing one, disconnecting one."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from leadhub.errors import NotFound
from leadhub.models.audit import AuditEntry
from leadhub.models.conversation import Channel
from leadhub.models.integration import Integration
from leadhub.timestamps import to_iso


class IntegrationStore(Protocol):
    def get(self, account_id: str, channel: Channel) -> Integration | None: ...

    def save(self, integration: Integration, previous: Integration | None, audit: AuditEntry) -> bool:
        """False when another account holds the integration's route."""

    def delete(self, integration: Integration, audit: AuditEntry) -> None: ...


def get_integration(account_id: str, channel: Channel, *, integrations: IntegrationStore) -> Integration:
    found = integrations.get(account_id, channel)
    if found is None:
        raise NotFound(f"No {channel.value} integration is connected")
    return found


def disconnect(
    account_id: str, channel: Channel, *, integrations: IntegrationStore, actor: str, now: datetime
) -> Integration:
    found = get_integration(account_id, channel, integrations=integrations)
    target = {"channel": channel.value}
    audit = AuditEntry(account_id, "integration.disconnected", "api", to_iso(now), actor=actor, target=target)
    integrations.delete(found, audit)
    return found
