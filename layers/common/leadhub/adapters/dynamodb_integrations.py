"""Channel integrations: pk ACCOUNT#{accountId}, sk INTEGRATION#{channel}; and the route a provider's
webhook is matched by, pk ROUTE#{channel}#{key}, sk ROUTE → the account. Both change in one transaction,
and a route belongs to one account at a time."""

from __future__ import annotations

from typing import Any

from leadhub.adapters.dynamodb_audit import audit_put
from leadhub.adapters.dynamodb_items import account_pk, key_values, to_item
from leadhub.adapters.dynamodb_queries import TableAdapter, commit, get_values
from leadhub.models.audit import AuditEntry
from leadhub.models.conversation import Channel
from leadhub.models.integration import Integration
from leadhub.ports import ChannelRoute
from leadhub.ttl_cache import TtlCache


def _integration_key(account_id: str, channel: Channel) -> dict[str, Any]:
    return {"pk": {"S": account_pk(account_id)}, "sk": {"S": f"INTEGRATION#{channel.value}"}}


def route_key(channel: Channel, key: str) -> dict[str, Any]:
    return {"pk": {"S": f"ROUTE#{channel.value}#{key}"}, "sk": {"S": "ROUTE"}}


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
        }
        route = {
            **key_values(route_key(channel, integration.route_key)),
            "entity": "route",
            "accountId": integration.account_id,
            "details": dict(integration.settings),
        }
        items: list[dict[str, Any]] = [
            {"Put": {"TableName": self._table, "Item": to_item(values)}},
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(route),
                    "ConditionExpression": "attribute_not_exists(pk) OR accountId = :me",
                    "ExpressionAttributeValues": {":me": {"S": integration.account_id}},
                }
            },
            audit_put(self._table, audit),
        ]
        if previous is not None and previous.route_key != integration.route_key:
            items.append(self._release(previous))
        return commit(self._db, items, "save integration")

    def delete(self, integration: Integration, audit: AuditEntry) -> None:
        items = [
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": _integration_key(integration.account_id, integration.channel),
                }
            },
            self._release(integration),
            audit_put(self._table, audit),
        ]
        commit(self._db, items, "delete integration")

    def find_route(self, channel: Channel, key: str) -> ChannelRoute | None:
        values = get_values(self._db, self._table, route_key(channel, key), "find route")
        if values is None:
            return None
        return ChannelRoute(channel, key, values["accountId"], values.get("details", {}))

    def _release(self, integration: Integration) -> dict[str, Any]:
        """Delete the route only while it is still this account's."""
        return {
            "Delete": {
                "TableName": self._table,
                "Key": route_key(integration.channel, integration.route_key),
                "ConditionExpression": "attribute_not_exists(pk) OR accountId = :me",
                "ExpressionAttributeValues": {":me": {"S": integration.account_id}},
            }
        }


class CachedRoutes:
    """Warm environments reuse route lookups (hits and misses) for `ttl_seconds`."""

    def __init__(self, inner: DynamoIntegrations, ttl_seconds: float) -> None:
        self._inner = inner
        self._cache: TtlCache[tuple[Channel, str], ChannelRoute | None] = TtlCache(ttl_seconds)

    def find_route(self, channel: Channel, key: str) -> ChannelRoute | None:
        return self._cache.get_or_load((channel, key), lambda k: self._inner.find_route(*k))
