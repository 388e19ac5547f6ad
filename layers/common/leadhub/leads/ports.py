"""The leads capability's port: its storage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from leadhub.accounts.audit import AuditEntry
    from leadhub.leads.models import Lead
    from leadhub.platform.paging import Page


class LeadRepository(Protocol):
    def insert_new(self, lead: Lead, audit: AuditEntry) -> Lead | None:
        """Store `lead` and `audit` atomically unless the lead exists; return the existing lead if so."""

    def replace(self, lead: Lead, expected_version: int) -> bool:
        """Overwrite the lead if its stored version is still `expected_version`."""

    def get(self, account_id: str, lead_id: str) -> Lead | None: ...

    def list_page(self, account_id: str, limit: int, cursor: str | None) -> Page[Lead]:
        """Newest first."""
