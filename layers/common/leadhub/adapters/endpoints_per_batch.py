"""An account's endpoints, listed once per stream batch by the fan-out.

Every record of a batch was written before the batch was read, so a listing taken while processing
the batch is newer than each of its records, whichever record asks first: reusing it for the rest of
the batch delivers every event to the same endpoints as listing per record would. It saves one
Query per record (most records of a batch belong to a few accounts). The next batch lists afresh."""

from __future__ import annotations

from leadhub.domain.fanout import EndpointDirectory
from leadhub.models.webhook_endpoint import WebhookEndpoint


class EndpointsPerBatch:
    def __init__(self, inner: EndpointDirectory) -> None:
        self._inner = inner
        self._listed: dict[str, list[WebhookEndpoint]] = {}

    def start_batch(self) -> None:
        self._listed.clear()

    def list_for_account(self, account_id: str) -> list[WebhookEndpoint]:
        if account_id not in self._listed:
            self._listed[account_id] = self._inner.list_for_account(account_id)
        return list(self._listed[account_id])
