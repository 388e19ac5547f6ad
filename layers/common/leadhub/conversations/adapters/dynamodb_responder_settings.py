"""Responder settings: pk ACCOUNT#{accountId}, sk RESPONDER (absent: rules, auto-reply on)."""

from __future__ import annotations

from typing import Any

from leadhub.accounts.adapters.dynamodb_audit import audit_put
from leadhub.accounts.audit import AuditEntry
from leadhub.conversations.responder_settings import ResponderKind, ResponderSettings
from leadhub.platform.adapters.dynamodb_items import account_pk, key_values, to_item
from leadhub.platform.adapters.dynamodb_queries import TableAdapter, commit, get_values


def _key(account_id: str) -> dict[str, Any]:
    return {"pk": {"S": account_pk(account_id)}, "sk": {"S": "RESPONDER"}}


class DynamoResponderSettings(TableAdapter):
    def get(self, account_id: str) -> ResponderSettings:
        values = get_values(self._db, self._table, _key(account_id), "read responder settings")
        if values is None:
            return ResponderSettings(account_id)
        return ResponderSettings(
            account_id=account_id,
            kind=ResponderKind(values.get("responder", "rules")),
            auto_reply=bool(values.get("autoReply", True)),
            model_id=values.get("modelId"),
            system_prompt=values.get("systemPrompt", ""),
            history_messages=int(values.get("historyMessages", 10)),
            max_reply_chars=int(values.get("maxReplyChars", 1000)),
            fallback_reply=values.get("fallbackReply"),
            updated_at=values.get("updatedAt"),
        )

    def save(self, settings: ResponderSettings, audit: AuditEntry) -> None:
        values = {
            **key_values(_key(settings.account_id)),
            "entity": "responder",
            "accountId": settings.account_id,
            "responder": settings.kind.value,
            "autoReply": settings.auto_reply,
            "modelId": settings.model_id,
            "systemPrompt": settings.system_prompt,
            "historyMessages": settings.history_messages,
            "maxReplyChars": settings.max_reply_chars,
            "fallbackReply": settings.fallback_reply,
            "updatedAt": settings.updated_at,
        }
        put = {"Put": {"TableName": self._table, "Item": to_item(values)}}
        commit(self._db, [put, audit_put(self._table, audit)], "save responder settings")
