"""Dashboard sessions, one-time sign-in links and failed sign-in counters in the single table. Every item
expires through the table's TTL attribute (`expiresAt`); reads check expiry themselves, since TTL deletes
late.

DASHSESSION#{sha256 of the token} / DASHSESSION   a session (account, scopes, who signed in, last use)
SIGNINLINK#{sha256 of the token}  / SIGNINLINK    a sign-in link (kept a day past its expiry, so that
                                                  opening it late says "expired", not "not valid")
SIGNINFAILURES#{sha256 of the IP} / WINDOW#{t}    failed sign-ins from one address in one window
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from leadhub.accounts.adapters.dynamodb_audit import audit_put
from leadhub.accounts.audit import AuditEntry
from leadhub.dashboard.models import Session, SignInLink
from leadhub.platform.adapters.aws_clients import storage_errors
from leadhub.platform.adapters.dynamodb_items import account_pk, to_item
from leadhub.platform.adapters.dynamodb_queries import TableAdapter, commit, get_values, write_if
from leadhub.platform.errors import StorageUnavailable
from leadhub.platform.timestamps import from_iso

LINK_KEPT_AFTER_EXPIRY = timedelta(days=1)


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def session_key(session_hash: str) -> dict[str, Any]:
    return _key(f"DASHSESSION#{session_hash}", "DASHSESSION")


def link_key(link_hash: str) -> dict[str, Any]:
    return _key(f"SIGNINLINK#{link_hash}", "SIGNINLINK")


def _epoch(iso: str, later: timedelta = timedelta(0)) -> int:
    return int((from_iso(iso) + later).timestamp())


def session_to_values(session: Session) -> dict[str, Any]:
    return {
        "pk": f"DASHSESSION#{session.session_hash}",
        "sk": "DASHSESSION",
        "entity": "dashboard_session",
        "accountId": session.account_id,
        "scopes": sorted(session.scopes),
        "actor": session.actor,
        "method": session.method,
        "createdAt": session.created_at,
        "lastSeenAt": session.last_seen_at,
        "keyId": session.key_id,
        "expiresAt": int(session.expires_at().timestamp()),
    }


def values_to_session(session_hash: str, values: dict[str, Any]) -> Session:
    return Session(
        session_hash=session_hash,
        account_id=values["accountId"],
        scopes=frozenset(values.get("scopes", ())),
        actor=values["actor"],
        method=values["method"],
        created_at=values["createdAt"],
        last_seen_at=values["lastSeenAt"],
        key_id=values.get("keyId"),
    )


def link_to_values(link: SignInLink) -> dict[str, Any]:
    return {
        "pk": f"SIGNINLINK#{link.link_hash}",
        "sk": "SIGNINLINK",
        "entity": "dashboard_link",
        "linkId": link.link_id,
        "accountId": link.account_id,
        "scopes": list(link.scopes),
        "createdBy": link.created_by,
        "createdByAccount": link.created_by_account,
        "createdAt": link.created_at,
        "validUntil": link.expires_at,
        "validUntilEpoch": _epoch(link.expires_at),
        "usedAt": link.used_at,
        "expiresAt": _epoch(link.expires_at, LINK_KEPT_AFTER_EXPIRY),
    }


def values_to_link(link_hash: str, values: dict[str, Any]) -> SignInLink:
    return SignInLink(
        link_id=values["linkId"],
        link_hash=link_hash,
        account_id=values["accountId"],
        scopes=tuple(values.get("scopes", ())),
        created_by=values["createdBy"],
        created_by_account=values["createdByAccount"],
        created_at=values["createdAt"],
        expires_at=values["validUntil"],
        used_at=values.get("usedAt"),
    )


class DynamoSessions(TableAdapter):
    def create(self, session: Session, audit: AuditEntry) -> None:
        items = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(session_to_values(session)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            audit_put(self._table, audit),
        ]
        if not commit(self._db, items, "open session"):
            raise storage_unavailable("open session")  # 256 random bits collided: never in practice

    def get(self, session_hash: str) -> Session | None:
        values = get_values(self._db, self._table, session_key(session_hash), "read session")
        return values_to_session(session_hash, values) if values else None

    def touch(self, session: Session, at: str) -> bool:
        touched = replace(session, last_seen_at=at)
        update = {
            "TableName": self._table,
            "Key": session_key(session.session_hash),
            "UpdateExpression": "SET lastSeenAt = :at, expiresAt = :expires",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {
                ":at": {"S": at},
                ":expires": {"N": str(int(touched.expires_at().timestamp()))},
            },
        }
        if session.key_id is None:
            return write_if("touch session", lambda: self._db.update_item(**update))
        # A key's session lasts only as long as the key: its listing item must still exist.
        key_exists = {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": _key(account_pk(session.account_id), f"APIKEY#{session.key_id}"),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        return commit(self._db, [{"Update": update}, key_exists], "touch session")

    def end(self, session: Session, audit: AuditEntry) -> bool:
        items = [
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": session_key(session.session_hash),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
            audit_put(self._table, audit),
        ]
        return commit(self._db, items, "end session")


class DynamoSignInLinks(TableAdapter):
    def add(self, link: SignInLink, audit: Sequence[AuditEntry]) -> None:
        items = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(link_to_values(link)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            *(audit_put(self._table, entry) for entry in audit),
        ]
        if not commit(self._db, items, "create sign-in link"):
            raise storage_unavailable("create sign-in link")

    def get(self, link_hash: str) -> SignInLink | None:
        values = get_values(self._db, self._table, link_key(link_hash), "read sign-in link")
        return values_to_link(link_hash, values) if values else None

    def consume(self, link: SignInLink, session: Session, audit: AuditEntry, at: str) -> bool:
        items = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": link_key(link.link_hash),
                    "UpdateExpression": "SET usedAt = :at",
                    "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(usedAt) "
                    "AND validUntilEpoch > :now",
                    "ExpressionAttributeValues": {":at": {"S": at}, ":now": {"N": str(_epoch(at))}},
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(session_to_values(session)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            audit_put(self._table, audit),
        ]
        return commit(self._db, items, "sign in with a link")


class DynamoFailedSignIns(TableAdapter):
    def count(self, source: str, window: int) -> int:
        key = _key(f"SIGNINFAILURES#{source}", f"WINDOW#{window}")
        values = get_values(self._db, self._table, key, "read failed sign-ins")
        return int(values.get("failures", 0)) if values else 0

    def add(self, source: str, window: int, expires_at: int) -> None:
        with storage_errors("record failed sign-in"):
            self._db.update_item(
                TableName=self._table,
                Key=_key(f"SIGNINFAILURES#{source}", f"WINDOW#{window}"),
                UpdateExpression="ADD failures :one SET entity = :entity, expiresAt = :expires",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":entity": {"S": "sign_in_failures"},
                    ":expires": {"N": str(expires_at)},
                },
            )


def storage_unavailable(what: str) -> StorageUnavailable:
    return StorageUnavailable(f"Storage is unavailable ({what}); please retry")
