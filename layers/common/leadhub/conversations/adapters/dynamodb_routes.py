"""Routes in the single table: pk ROUTE#{channel}#{key}, sk ROUTE → the account a provider's identifier
belongs to (a WhatsApp phone number id, the hash of a Telegram secret token, an email domain, a
conversation's reply address). Integrations write them when a channel is connected; an email
conversation's reply route is written with the conversation."""

from __future__ import annotations

from typing import Any

from leadhub.conversations.models import Channel
from leadhub.conversations.ports import ChannelRoute
from leadhub.platform.adapters.dynamodb_queries import TableAdapter, get_values


def route_key(channel: Channel, key: str) -> dict[str, Any]:
    return {"pk": {"S": f"ROUTE#{channel.value}#{key}"}, "sk": {"S": "ROUTE"}}


class DynamoRoutes(TableAdapter):
    def find_route(self, channel: Channel, key: str) -> ChannelRoute | None:
        values = get_values(self._db, self._table, route_key(channel, key), "find route")
        if values is None:
            return None
        return ChannelRoute(channel, key, values["accountId"], values.get("details", {}))
