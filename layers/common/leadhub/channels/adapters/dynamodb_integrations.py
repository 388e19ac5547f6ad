"""Channel integrations: pk ACCOUNT#{accountId}, sk INTEGRATION#{channel}; and the route a provider's
webhook is matched by, pk ROUTE#{channel}#{key}, sk ROUTE → the account. Both change in one transaction,
and a route belongs to one account at a time. Where the route cannot name what is connected (a Telegram
route is the hash of a per-connect secret), a claim pk CLAIM#{channel}#{key}, sk CLAIM → the account
holds it (the bot's id): taken `pending` before the provider is told anything, confirmed by the save."""

from __future__ import annotations

from typing import Any

from leadhub.accounts.adapters.dynamodb_audit import audit_put
from leadhub.accounts.audit import AuditEntry
from leadhub.channels.models import Integration
from leadhub.conversations.adapters.dynamodb_routes import route_key
from leadhub.conversations.models import Channel
from leadhub.platform.adapters.dynamodb_items import account_pk, key_values, to_item
from leadhub.platform.adapters.dynamodb_queries import TableAdapter, commit, get_values, write_if


def _integration_key(account_id: str, channel: Channel) -> dict[str, Any]:
    return {"pk": {"S": account_pk(account_id)}, "sk": {"S": f"INTEGRATION#{channel.value}"}}


def claim_key(channel: Channel, key: str) -> dict[str, Any]:
    return {"pk": {"S": f"CLAIM#{channel.value}#{key}"}, "sk": {"S": "CLAIM"}}


def _mine(account_id: str) -> dict[str, Any]:
    """A condition that holds while the item is absent or the account's own."""
    return {
        "ConditionExpression": "attribute_not_exists(pk) OR accountId = :me",
        "ExpressionAttributeValues": {":me": {"S": account_id}},
    }


class DynamoIntegrations(TableAdapter):
    def get(self, account_id: str, channel: Channel) -> Integration | None:
        values = get_values(self._db, self._table, _integration_key(account_id, channel), "read integration")
        if values is None:
            return None
        return Integration(
            account_id=account_id,
            channel=channel,
            route_key=values["routeKey"],
            connected_at=values["connectedAt"],
            credential=values["credential"],
            settings=values.get("settings", {}),
            claim_key=values.get("claimKey"),
        )

    def save(self, integration: Integration, previous: Integration | None, audit: AuditEntry) -> bool:
        """Store the integration and claim its route; False when another account holds the route."""
        channel = integration.channel
        values = {
            **key_values(_integration_key(integration.account_id, channel)),
            "entity": "integration",
            "accountId": integration.account_id,
            "channel": channel.value,
            "routeKey": integration.route_key,
            "connectedAt": integration.connected_at,
            "credential": integration.credential,
            "settings": dict(integration.settings),
            "claimKey": integration.claim_key,
        }
        route = {
            **key_values(route_key(channel, integration.route_key)),
            "entity": "route",
            "accountId": integration.account_id,
            "details": dict(integration.settings),
        }
        mine = _mine(integration.account_id)
        items: list[dict[str, Any]] = [
            {"Put": {"TableName": self._table, "Item": to_item(values)}},
            {"Put": {"TableName": self._table, "Item": to_item(route), **mine}},
            audit_put(self._table, audit),
        ]
        if integration.claim_key is not None:
            claim = {
                **key_values(claim_key(channel, integration.claim_key)),
                "entity": "claim",
                "accountId": integration.account_id,
                "claimedAt": integration.connected_at,
                "pending": False,
            }
            items.append({"Put": {"TableName": self._table, "Item": to_item(claim), **mine}})
        if previous is not None and previous.route_key != integration.route_key:
            items.append(self._release_route(previous))
        if previous is not None and previous.claim_key not in (None, integration.claim_key):
            items.append(self._release_claim(previous))
        return commit(self._db, items, "save integration")

    def delete(self, integration: Integration, audit: AuditEntry) -> None:
        items = [
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": _integration_key(integration.account_id, integration.channel),
                }
            },
            self._release_route(integration),
            audit_put(self._table, audit),
        ]
        if integration.claim_key is not None:
            items.append(self._release_claim(integration))
        commit(self._db, items, "delete integration")

    def claim(self, channel: Channel, key: str, account_id: str, at: str, abandoned_before: str) -> bool:
        return write_if(
            "claim integration",
            lambda: self._db.update_item(
                TableName=self._table,
                Key=claim_key(channel, key),
                # The account's own confirmed claim stays confirmed: a reconnect that fails half-way
                # must not leave it open to takeover.
                UpdateExpression=(
                    "SET entity = :entity, accountId = :me, claimedAt = :at, "
                    "pending = if_not_exists(pending, :true)"
                ),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR accountId = :me "
                    "OR (pending = :true AND claimedAt < :abandoned)"
                ),
                ExpressionAttributeValues={
                    ":entity": {"S": "claim"},
                    ":me": {"S": account_id},
                    ":at": {"S": at},
                    ":true": {"BOOL": True},
                    ":abandoned": {"S": abandoned_before},
                },
            ),
        )

    def release(self, channel: Channel, key: str, account_id: str) -> None:
        release = {"Key": claim_key(channel, key), **_mine(account_id)}
        # A transaction of one: the layer bundles no DeleteItem model (tools/botocore_data.py).
        commit(self._db, [{"Delete": {"TableName": self._table, **release}}], "release integration claim")

    def _release_route(self, integration: Integration) -> dict[str, Any]:
        """Delete the route only while it is still this account's."""
        key = route_key(integration.channel, integration.route_key)
        return {"Delete": {"TableName": self._table, "Key": key, **_mine(integration.account_id)}}

    def _release_claim(self, integration: Integration) -> dict[str, Any]:
        """Delete the claim only while it is still this account's."""
        assert integration.claim_key is not None
        key = claim_key(integration.channel, integration.claim_key)
        return {"Delete": {"TableName": self._table, "Key": key, **_mine(integration.account_id)}}
