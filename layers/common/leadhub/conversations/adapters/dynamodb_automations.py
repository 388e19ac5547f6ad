"""Automations: pk ACCOUNT#{accountId}, sk AUTOMATION#{automationId} (ids sort by creation time)."""

from __future__ import annotations

from typing import Any

from leadhub.accounts.adapters.dynamodb_audit import audit_put
from leadhub.accounts.audit import AuditEntry
from leadhub.conversations.automation_rules import Automation, AutomationKind, OpeningHours
from leadhub.platform.adapters.dynamodb_items import account_pk, to_item
from leadhub.platform.adapters.dynamodb_queries import TableAdapter, commit, query_prefix


def _values(automation: Automation) -> dict[str, Any]:
    return {
        "pk": account_pk(automation.account_id),
        "sk": f"AUTOMATION#{automation.automation_id}",
        "entity": "automation",
        "accountId": automation.account_id,
        "automationId": automation.automation_id,
        "kind": automation.kind.value,
        "match": automation.match,
        "reply": automation.reply,
        "enabled": automation.enabled,
        "createdAt": automation.created_at,
        "hours": automation.hours.to_public() if automation.hours else None,
    }


def _automation(values: dict[str, Any]) -> Automation:
    return Automation(
        account_id=values["accountId"],
        automation_id=values["automationId"],
        kind=AutomationKind(values["kind"]),
        reply=values["reply"],
        created_at=values["createdAt"],
        match=values.get("match"),
        enabled=bool(values.get("enabled", True)),
        hours=_hours(values.get("hours")),
    )


def _hours(values: dict[str, Any] | None) -> OpeningHours | None:
    if not values:
        return None
    return OpeningHours(values["timezone"], tuple(values["days"]), values["opens"], values["closes"])


class DynamoAutomations(TableAdapter):
    def list_for_account(self, account_id: str) -> list[Automation]:
        items = query_prefix(self._db, self._table, account_pk(account_id), "AUTOMATION#", "list automations")
        return [_automation(v) for v in items]

    def insert(self, automation: Automation, audit: AuditEntry) -> None:
        put = {"Put": {"TableName": self._table, "Item": to_item(_values(automation))}}
        commit(self._db, [put, audit_put(self._table, audit)], "store automation")

    def delete(self, account_id: str, automation_id: str, audit: AuditEntry) -> bool:
        key = {"pk": {"S": account_pk(account_id)}, "sk": {"S": f"AUTOMATION#{automation_id}"}}
        delete = {
            "Delete": {"TableName": self._table, "Key": key, "ConditionExpression": "attribute_exists(pk)"}
        }
        return commit(self._db, [delete, audit_put(self._table, audit)], "delete automation")
