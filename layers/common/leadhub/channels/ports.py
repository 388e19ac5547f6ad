"""The channels' shared port: where connected channels (integrations) and their claims are stored."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from leadhub.accounts.audit import AuditEntry
    from leadhub.channels.models import Integration
    from leadhub.conversations.models import Channel


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
