"""The delivery worker's read of a batch: its delivery records and its endpoints in one BatchGetItem.

Both live in the single table, so one request (up to 100 keys: a batch of 10 needs 20) reads what two
would. Requests to a table are not free even when they overlap, and the emulator serves them one at a
time; the batch's sends cannot start before this read is back."""

from __future__ import annotations

from collections.abc import Sequence

from leadhub.outbound.adapters.dynamodb_delivery_log import delivery_key, values_to_delivery
from leadhub.outbound.adapters.dynamodb_endpoints import endpoint_key, values_to_endpoint
from leadhub.outbound.models import Delivery, WebhookEndpoint
from leadhub.platform.adapters.dynamodb_batch_get import batch_get
from leadhub.platform.adapters.dynamodb_items import from_item
from leadhub.platform.adapters.dynamodb_queries import TableAdapter

Key = tuple[str, str]  # (account id, delivery id) or (account id, endpoint id)


class DynamoDeliveryBatchReader(TableAdapter):
    def read(
        self, delivery_keys: Sequence[Key], endpoint_keys: Sequence[Key]
    ) -> tuple[dict[Key, Delivery], dict[Key, WebhookEndpoint]]:
        """The stored deliveries and endpoints among the keys, by key, read as the repositories' `get`
        reads them (strongly consistent); missing ones are left out."""
        keys = [delivery_key(*key) for key in dict.fromkeys(delivery_keys)]
        keys += [endpoint_key(*key) for key in dict.fromkeys(endpoint_keys)]
        deliveries: dict[Key, Delivery] = {}
        endpoints: dict[Key, WebhookEndpoint] = {}
        for item in batch_get(self._db, self._table, keys, "read the batch's deliveries"):
            values = from_item(item)
            if values.get("entity") == "delivery":
                delivery = values_to_delivery(values)
                deliveries[(delivery.account_id, delivery.delivery_id)] = delivery
            else:
                endpoint = values_to_endpoint(values)
                endpoints[(endpoint.account_id, endpoint.endpoint_id)] = endpoint
        return deliveries, endpoints
