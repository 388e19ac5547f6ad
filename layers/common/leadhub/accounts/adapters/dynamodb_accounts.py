"""Accounts, webhook-token lookups, API keys and audit entries in the single table.

ACCOUNT#{id}            / ACCOUNT         the account (webhook token: hash + KMS ciphertext)
WEBHOOKTOKEN#{sha256}   / WEBHOOKTOKEN    token -> account, one GetItem for the lead webhook
APIKEY#{sha256}         / APIKEY          API key -> account and scopes
ACCOUNT#{id}            / APIKEY#{keyId}  the account's view of its keys (listing, revocation)
ACCOUNT#{id}            / AUDIT#{entryId} audit entries, time-ordered
                          gsi1: PARENT#{agencyId} / {id}  a managed account, listed by its agency
"""

from __future__ import annotations

from typing import Any

from leadhub.accounts.adapters.dynamodb_audit import audit_put, values_to_audit
from leadhub.accounts.audit import AuditEntry
from leadhub.accounts.models import Account, ApiKey, Plan, TokenOwner
from leadhub.platform.adapters.aws_clients import unavailable
from leadhub.platform.adapters.dynamodb_items import account_pk, to_item
from leadhub.platform.adapters.dynamodb_pages import query_page
from leadhub.platform.adapters.dynamodb_queries import TableAdapter, commit, get_values
from leadhub.platform.paging import Page


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _token_key(token_hash: str) -> dict[str, Any]:
    return _key(f"WEBHOOKTOKEN#{token_hash}", "WEBHOOKTOKEN")


def _account_values(account: Account) -> dict[str, Any]:
    managed = account.parent_account_id is not None
    return {
        "pk": account_pk(account.account_id),
        "sk": "ACCOUNT",
        "entity": "account",
        "accountId": account.account_id,
        "name": account.name,
        "plan": str(account.plan),
        "defaultRegion": account.default_region,
        "createdAt": account.created_at,
        "webhookTokenHash": account.webhook_token_hash,
        "webhookTokenCiphertext": account.webhook_token_ciphertext,
        "parentAccountId": account.parent_account_id,
        # Lets an agency list its managed accounts.
        "gsi1pk": f"PARENT#{account.parent_account_id}" if managed else None,
        "gsi1sk": account.account_id if managed else None,
    }


def _to_account(values: dict[str, Any]) -> Account:
    return Account(
        account_id=values["accountId"],
        name=values["name"],
        plan=Plan(values["plan"]),
        default_region=values["defaultRegion"],
        created_at=values["createdAt"],
        webhook_token_hash=values["webhookTokenHash"],
        webhook_token_ciphertext=values["webhookTokenCiphertext"],
        parent_account_id=values.get("parentAccountId"),
    )


def _token_values(account: Account, token_hash: str) -> dict[str, Any]:
    return {
        "pk": f"WEBHOOKTOKEN#{token_hash}",
        "sk": "WEBHOOKTOKEN",
        "entity": "webhook_token",
        "accountId": account.account_id,
        "defaultRegion": account.default_region,
    }


def _key_values(key: ApiKey) -> dict[str, Any]:
    return {
        "entity": "api_key",
        "accountId": key.account_id,
        "keyId": key.key_id,
        "name": key.name,
        "scopes": list(key.scopes),
        "prefix": key.prefix,
        "keyHash": key.key_hash,
        "createdAt": key.created_at,
    }


def _to_api_key(values: dict[str, Any]) -> ApiKey:
    return ApiKey(
        account_id=values["accountId"],
        key_id=values["keyId"],
        name=values["name"],
        scopes=tuple(values["scopes"]),
        prefix=values["prefix"],
        key_hash=values["keyHash"],
        created_at=values["createdAt"],
    )


def _put(table: str, values: dict[str, Any], condition: str | None = None) -> dict[str, Any]:
    put: dict[str, Any] = {"TableName": table, "Item": to_item(values)}
    if condition:
        put["ConditionExpression"] = condition
    return {"Put": put}


class DynamoAccountRepository(TableAdapter):
    def _key_items(self, key: ApiKey) -> list[dict[str, Any]]:
        lookup = {"pk": f"APIKEY#{key.key_hash}", "sk": "APIKEY", **_key_values(key)}
        listing = {"pk": account_pk(key.account_id), "sk": f"APIKEY#{key.key_id}", **_key_values(key)}
        new = "attribute_not_exists(pk)"
        return [_put(self._table, lookup, new), _put(self._table, listing, new)]

    def _audit_items(self, audit: list[AuditEntry]) -> list[dict[str, Any]]:
        return [audit_put(self._table, entry) for entry in audit]

    def _get(self, key: dict[str, Any], what: str) -> dict[str, Any] | None:
        return get_values(self._db, self._table, key, what)

    def _transact(self, items: list[dict[str, Any]], what: str) -> bool:
        return commit(self._db, items, what)

    # -- accounts and webhook tokens

    def create_account(self, account: Account, first_key: ApiKey, audit: list[AuditEntry]) -> None:
        new = "attribute_not_exists(pk)"
        items = [
            _put(self._table, _account_values(account), new),
            _put(self._table, _token_values(account, account.webhook_token_hash), new),
            *self._key_items(first_key),
            *self._audit_items(audit),
        ]
        if not self._transact(items, "create account"):
            raise unavailable("create account")  # random ids collided: a retry draws new ones

    def get_account(self, account_id: str) -> Account | None:
        values = self._get(_key(account_pk(account_id), "ACCOUNT"), "read account")
        return _to_account(values) if values else None

    def list_managed_accounts(self, parent_account_id: str, limit: int) -> Page[Account]:
        """The accounts an agency manages, by id; `next_cursor` is set when there are more."""
        page = query_page(
            self._db,
            self._table,
            partition=("gsi1pk", f"PARENT#{parent_account_id}"),
            limit=limit,
            cursor=None,
            index="gsi1",
            oldest_first=True,
        )
        return Page([_to_account(values) for values in page.items], page.next_cursor)

    def find_token_owner(self, token_hash: str) -> TokenOwner | None:
        values = self._get(_token_key(token_hash), "look up webhook token")
        return TokenOwner(values["accountId"], values["defaultRegion"]) if values else None

    def replace_webhook_token(
        self, account: Account, new_hash: str, new_ciphertext: bytes, audit: AuditEntry
    ) -> bool:
        items = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": _key(account_pk(account.account_id), "ACCOUNT"),
                    "UpdateExpression": "SET webhookTokenHash = :new, webhookTokenCiphertext = :ciphertext",
                    "ConditionExpression": "webhookTokenHash = :old",
                    "ExpressionAttributeValues": {
                        ":new": {"S": new_hash},
                        ":old": {"S": account.webhook_token_hash},
                        ":ciphertext": {"B": new_ciphertext},
                    },
                }
            },
            {"Delete": {"TableName": self._table, "Key": _token_key(account.webhook_token_hash)}},
            _put(self._table, _token_values(account, new_hash), "attribute_not_exists(pk)"),
            *self._audit_items([audit]),
        ]
        return self._transact(items, "rotate webhook token")

    # -- API keys

    def find_api_key(self, key_hash: str) -> ApiKey | None:
        values = self._get(_key(f"APIKEY#{key_hash}", "APIKEY"), "look up API key")
        return _to_api_key(values) if values else None

    def add_api_key(self, key: ApiKey, audit: AuditEntry) -> None:
        if not self._transact([*self._key_items(key), *self._audit_items([audit])], "create API key"):
            raise unavailable("create API key")

    def list_api_keys(self, account_id: str) -> list[ApiKey]:
        keys: list[ApiKey] = []
        cursor = None
        while True:
            page = query_page(
                self._db,
                self._table,
                partition=("pk", account_pk(account_id)),
                sort_prefix=("sk", "APIKEY#"),
                limit=100,
                cursor=cursor,
            )
            keys += [_to_api_key(values) for values in page.items]
            if page.next_cursor is None:
                return keys
            cursor = page.next_cursor

    def revoke_api_key(self, account_id: str, key_id: str, audit: AuditEntry) -> bool:
        values = self._get(_key(account_pk(account_id), f"APIKEY#{key_id}"), "read API key")
        if values is None:
            return False
        items = [
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": _key(account_pk(account_id), f"APIKEY#{key_id}"),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
            {"Delete": {"TableName": self._table, "Key": _key(f"APIKEY#{values['keyHash']}", "APIKEY")}},
            *self._audit_items([audit]),
        ]
        return self._transact(items, "revoke API key")

    # -- audit

    def list_audit(self, account_id: str, limit: int, cursor: str | None) -> Page[AuditEntry]:
        page = query_page(
            self._db,
            self._table,
            partition=("pk", account_pk(account_id)),
            sort_prefix=("sk", "AUDIT#"),
            limit=limit,
            cursor=cursor,
        )
        return Page([values_to_audit(v) for v in page.items], page.next_cursor)
