"""The job queues: delivery jobs sent in batches (a failed one's next attempt pushed into the future),
and plain JSON jobs for the other workers."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from leadhub.models.delivery import DeliveryJob
from leadhub.platform.adapters.aws_clients import ClientFactory, client, storage_errors

SQS_BATCH = 10


class _Queue:
    """One queue, on the cached SQS client; a received message's next attempt can be pushed back."""

    def __init__(self, queue_url: str, clients: ClientFactory = client) -> None:
        self._url = queue_url
        self._clients = clients

    @property
    def _sqs(self) -> Any:
        return self._clients("sqs")

    def delay(self, receipt_handle: str, seconds: int) -> None:
        """The message becomes visible again (for its next attempt) after `seconds`."""
        with storage_errors("schedule retry"):
            self._sqs.change_message_visibility(
                QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )


class SqsJobQueue(_Queue):
    """The delivery queue."""

    def send(self, jobs: Sequence[DeliveryJob], delay_seconds: int = 0) -> list[str]:
        failed: list[str] = []
        for start in range(0, len(jobs), SQS_BATCH):
            chunk = jobs[start : start + SQS_BATCH]
            entries = [
                {"Id": str(i), "MessageBody": job.to_message(), "DelaySeconds": delay_seconds}
                for i, job in enumerate(chunk)
            ]
            with storage_errors("queue deliveries"):
                result = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)
            failed += [chunk[int(entry["Id"])].delivery_id for entry in result.get("Failed", [])]
        return failed


class SqsJsonQueue(_Queue):
    """A queue of JSON job messages (inbound emails to complete, conversations to answer)."""

    def send(
        self, body: Mapping[str, object], *, group_id: str | None = None, dedupe_id: str | None = None
    ) -> None:
        """Enqueue; on a FIFO queue in `group_id`, and a send with the same `dedupe_id` within five minutes
        is dropped by SQS (a stream record processed twice)."""
        request: dict[str, Any] = {"QueueUrl": self._url, "MessageBody": json.dumps(dict(body))}
        if group_id is not None:
            request["MessageGroupId"] = group_id
        if dedupe_id is not None:
            request["MessageDeduplicationId"] = dedupe_id
        with storage_errors("queue job"):
            self._sqs.send_message(**request)
