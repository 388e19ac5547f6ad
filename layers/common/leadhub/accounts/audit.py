"""Audit entries: who did what to which account, kept next to the change they record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from leadhub.platform.ids import sortable_id


@dataclass(frozen=True, slots=True)
class AuditEntry:
    account_id: str
    action: str  # e.g. "lead.created", "api_key.revoked"
    source: str  # "webhook" | "api" | "admin" | "dashboard"
    at: str
    actor: str | None = None  # the API key id (or dashboard sign-in link id), when one did it
    target: Mapping[str, str] = field(default_factory=dict)
    entry_id: str = field(default_factory=lambda: sortable_id("aud"))

    def to_public(self) -> dict[str, object]:
        return {
            "entryId": self.entry_id,
            "action": self.action,
            "source": self.source,
            "at": self.at,
            "actor": self.actor,
            "target": dict(self.target),
        }
