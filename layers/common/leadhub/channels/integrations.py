"""Connected channels in general: where they are stored, showing one, disconnecting one."""

from __future__ import annotations

from datetime import datetime

from leadhub.accounts.audit import AuditEntry
from leadhub.channels.models import Integration
from leadhub.channels.ports import IntegrationStore
from leadhub.conversations.models import Channel
from leadhub.platform.errors import NotFound
from leadhub.platform.timestamps import to_iso

# Where each provider's webhooks reach Leadhub: the URL entered at Meta; Telegram's we register ourselves;
# Resend's is the deployment's (one for every account).
WEBHOOK_PATHS = {
    Channel.WHATSAPP: "/api/webhooks/meta-whatsapp",
    Channel.TELEGRAM: "/api/webhooks/telegram",
    Channel.EMAIL: "/api/webhooks/email",
}


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
