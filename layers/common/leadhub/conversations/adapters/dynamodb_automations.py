"""Automations: pk ACCOUNT#{accountId}, sk AUTOMATION#{automationId} (ids sort by creation time), and the
account's order of them, sk AUTOMATION_ORDER (absent, or without an automation's id: creation order). One
query reads both."""

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


ORDER_SK = "AUTOMATION_ORDER"


class DynamoAutomations(TableAdapter):
    def list_for_account(self, account_id: str) -> list[Automation]:
        """In the account's order; those it does not name yet (created since) last, in creation order."""
        items = query_prefix(self._db, self._table, account_pk(account_id), "AUTOMATION", "list automations")
        order: list[str] = next((v["automationIds"] for v in items if v["sk"] == ORDER_SK), [])
        position = {automation_id: n for n, automation_id in enumerate(order)}
        found = [_automation(v) for v in items if v["sk"].startswith("AUTOMATION#")]
        return sorted(found, key=lambda a: position.get(a.automation_id, len(position)))

    def insert(self, automation: Automation, audit: AuditEntry) -> None:
        put = {"Put": {"TableName": self._table, "Item": to_item(_values(automation))}}
        commit(self._db, [put, audit_put(self._table, audit)], "store automation")

    def replace(self, automation: Automation, audit: AuditEntry) -> bool:
        put = {
            "Put": {
                "TableName": self._table,
                "Item": to_item(_values(automation)),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        return commit(self._db, [put, audit_put(self._table, audit)], "update automation")

    def save_order(self, account_id: str, automation_ids: list[str], audit: AuditEntry) -> None:
        values = {
            "pk": account_pk(account_id),
            "sk": ORDER_SK,
            "entity": "automation_order",
            "accountId": account_id,
            "automationIds": automation_ids,
        }
        put = {"Put": {"TableName": self._table, "Item": to_item(values)}}
        commit(self._db, [put, audit_put(self._table, audit)], "store the automations' order")

    def delete(self, account_id: str, automation_id: str, audit: AuditEntry) -> bool:
        key = {"pk": {"S": account_pk(account_id)}, "sk": {"S": f"AUTOMATION#{automation_id}"}}
        delete = {
            "Delete": {"TableName": self._table, "Key": key, "ConditionExpression": "attribute_exists(pk)"}
        }
        return commit(self._db, [delete, audit_put(self._table, audit)], "delete automation")
