"""Webhook endpoints in the single table.

ENDPOINTS#{id} / ENDPOINT#{endpointId} the endpoint (secrets and custom headers KMS-encrypted)
ACCOUNT#{id} / ACCOUNT                 carries `endpointCount`, so the plan limit holds under
                                       concurrent creates (counter and endpoint commit together)
"""

from __future__ import annotations

from typing import Any

from leadhub.accounts.adapters.dynamodb_audit import audit_put, audit_to_values
from leadhub.accounts.audit import AuditEntry
from leadhub.outbound.models import EndpointSecret, Verification, VerificationMode, WebhookEndpoint
from leadhub.platform.adapters.aws_clients import storage_errors
from leadhub.platform.adapters.dynamodb_items import account_pk, from_stream_image, to_item
from leadhub.platform.adapters.dynamodb_queries import (
    TableAdapter,
    commit,
    get_values,
    put_if_version,
    query_prefix,
)


def endpoint_key(account_id: str, endpoint_id: str) -> dict[str, Any]:
    return {"pk": {"S": endpoints_pk(account_id)}, "sk": {"S": f"ENDPOINT#{endpoint_id}"}}


def endpoints_pk(account_id: str) -> str:
    # A partition of their own: the fan-out lists an account's endpoints for every fact, and that
    # read must not grow with the account's leads.
    return f"ENDPOINTS#{account_id}"


def endpoint_to_values(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "pk": endpoints_pk(endpoint.account_id),
        "sk": f"ENDPOINT#{endpoint.endpoint_id}",
        "entity": "webhook_endpoint",
        "accountId": endpoint.account_id,
        "endpointId": endpoint.endpoint_id,
        "name": endpoint.name,
        "url": endpoint.url,
        "secrets": [
            {"ciphertext": s.ciphertext, "createdAt": s.created_at, "expiresAt": s.expires_at}
            for s in endpoint.secrets
        ],
        "events": list(endpoint.events),
        "accountFilter": None if endpoint.account_filter is None else list(endpoint.account_filter),
        "payloadTemplate": endpoint.payload_template,
        "headerNames": list(endpoint.header_names),
        "headersCiphertext": endpoint.headers_ciphertext,
        "enabled": endpoint.enabled,
        "verification": str(endpoint.verification),
        "verificationMode": str(endpoint.verification_mode),
        "verifiedAt": endpoint.verified_at,
        "verificationError": endpoint.verification_error,
        "disabledReason": endpoint.disabled_reason,
        "failingSince": endpoint.failing_since,
        "createdAt": endpoint.created_at,
        "updatedAt": endpoint.updated_at,
        "version": endpoint.version,
    }


def values_to_endpoint(values: dict[str, Any]) -> WebhookEndpoint:
    account_filter = values.get("accountFilter")
    return WebhookEndpoint(
        account_id=values["accountId"],
        endpoint_id=values["endpointId"],
        name=values["name"],
        url=values["url"],
        secrets=tuple(
            EndpointSecret(bytes(s["ciphertext"]), s["createdAt"], s.get("expiresAt"))
            for s in values["secrets"]
        ),
        created_at=values["createdAt"],
        updated_at=values["updatedAt"],
        events=tuple(values.get("events") or ()),
        account_filter=None if account_filter is None else tuple(account_filter),
        payload_template=values.get("payloadTemplate"),
        header_names=tuple(values.get("headerNames") or ()),
        headers_ciphertext=values.get("headersCiphertext"),
        enabled=bool(values["enabled"]),
        verification=Verification(values["verification"]),
        # Stored before modes existed: those were verified by echo, and keep that.
        verification_mode=VerificationMode(values.get("verificationMode", VerificationMode.ECHO)),
        verified_at=values.get("verifiedAt"),
        verification_error=values.get("verificationError"),
        disabled_reason=values.get("disabledReason"),
        failing_since=values.get("failingSince"),
        version=int(values["version"]),
    )


class DynamoEndpointRepository(TableAdapter):
    def _account_key(self, account_id: str) -> dict[str, Any]:
        return {"pk": {"S": account_pk(account_id)}, "sk": {"S": "ACCOUNT"}}

    def insert(self, endpoint: WebhookEndpoint, limit: int | None, audit: AuditEntry) -> bool:
        condition = "attribute_exists(pk)"
        values: dict[str, Any] = {":one": {"N": "1"}, ":zero": {"N": "0"}}
        if limit is not None:
            condition += " AND (attribute_not_exists(endpointCount) OR endpointCount < :limit)"
            values[":limit"] = {"N": str(limit)}
        count = {
            "Update": {
                "TableName": self._table,
                "Key": self._account_key(endpoint.account_id),
                "UpdateExpression": "SET endpointCount = if_not_exists(endpointCount, :zero) + :one",
                "ConditionExpression": condition,
                "ExpressionAttributeValues": values,
            }
        }
        put = {
            "Put": {
                "TableName": self._table,
                "Item": to_item(endpoint_to_values(endpoint)),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        return commit(self._db, [count, put, audit_put(self._table, audit)], "create webhook endpoint")

    def get(self, account_id: str, endpoint_id: str) -> WebhookEndpoint | None:
        values = get_values(
            self._db, self._table, endpoint_key(account_id, endpoint_id), "read webhook endpoint"
        )
        return values_to_endpoint(values) if values else None

    def list_for_account(self, account_id: str) -> list[WebhookEndpoint]:
        items = query_prefix(
            self._db, self._table, endpoints_pk(account_id), "ENDPOINT#", "list webhook endpoints"
        )
        return [values_to_endpoint(values) for values in items]

    def replace(self, endpoint: WebhookEndpoint, expected_version: int) -> bool:
        values = endpoint_to_values(endpoint)
        return put_if_version(self._db, self._table, values, expected_version, "update webhook endpoint")

    def delete(self, account_id: str, endpoint_id: str, audit: AuditEntry) -> bool:
        delete = {
            "Delete": {
                "TableName": self._table,
                "Key": endpoint_key(account_id, endpoint_id),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        count = {
            "Update": {
                "TableName": self._table,
                "Key": self._account_key(account_id),
                "UpdateExpression": "SET endpointCount = endpointCount - :one",
                "ConditionExpression": "endpointCount > :zero",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":zero": {"N": "0"}},
            }
        }
        return commit(self._db, [delete, count, audit_put(self._table, audit)], "delete webhook endpoint")

    def add_audit(self, audit: AuditEntry) -> None:
        with storage_errors("write audit entry"):
            self._db.put_item(TableName=self._table, Item=to_item(audit_to_values(audit)))


def endpoint_from_image(image: dict[str, Any] | None) -> WebhookEndpoint | None:
    """The endpoint in a stream record's image (DynamoDB JSON), or None if it holds none."""
    if not image or image.get("entity", {}).get("S") != "webhook_endpoint":
        return None
    return values_to_endpoint(from_stream_image(image))
