"""Audit entries as items: pk ACCOUNT#{accountId}, sk AUDIT#{entryId} (entry ids sort by time)."""

from __future__ import annotations

from typing import Any

from leadhub.accounts.audit import AuditEntry
from leadhub.platform.adapters.dynamodb_items import account_pk, to_item


def audit_to_values(entry: AuditEntry) -> dict[str, Any]:
    return {
        "pk": account_pk(entry.account_id),
        "sk": f"AUDIT#{entry.entry_id}",
        "entity": "audit",
        "entryId": entry.entry_id,
        "accountId": entry.account_id,
        "action": entry.action,
        "source": entry.source,
        "at": entry.at,
        "actor": entry.actor,
        "target": dict(entry.target),
    }


def audit_put(table: str, entry: AuditEntry) -> dict[str, Any]:
    """The TransactWriteItems element that stores `entry` next to the change it records."""
    return {"Put": {"TableName": table, "Item": to_item(audit_to_values(entry))}}


def values_to_audit(values: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        account_id=values["accountId"],
        action=values["action"],
        source=values["source"],
        at=values["at"],
        actor=values.get("actor"),
        target=values.get("target", {}),
        entry_id=values["entryId"],
    )
