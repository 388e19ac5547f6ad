"""The delivery queue: delivery jobs sent in batches of ten."""

from __future__ import annotations

from collections.abc import Sequence

from leadhub.outbound.models import DeliveryJob
from leadhub.platform.adapters.aws_clients import storage_errors
from leadhub.platform.adapters.sqs_queues import SqsQueue

SQS_BATCH = 10


class SqsDeliveryQueue(SqsQueue):
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
