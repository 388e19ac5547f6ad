"""The ports domain code depends on. Adapters implement them for AWS; tests use in-memory fakes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # annotations only: a function imports the models it uses, not every port's
    from leadhub.accounts.audit import AuditEntry
    from leadhub.models.webhook_endpoint import WebhookEndpoint


class EndpointRepository(Protocol):
    def insert(self, endpoint: WebhookEndpoint, limit: int | None, audit: AuditEntry) -> bool:
        """Store a new endpoint unless the account already has `limit` endpoints (None: no limit)."""

    def get(self, account_id: str, endpoint_id: str) -> WebhookEndpoint | None: ...

    def list_for_account(self, account_id: str) -> list[WebhookEndpoint]:
        """Oldest first."""

    def replace(self, endpoint: WebhookEndpoint, expected_version: int) -> bool: ...

    def delete(self, account_id: str, endpoint_id: str, audit: AuditEntry) -> bool:
        """False when there was no such endpoint."""

    def add_audit(self, audit: AuditEntry) -> None: ...
