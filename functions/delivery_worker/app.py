"""DeliveryQueue consumer: each record is one attempt of one signed webhook delivery.

The records of a batch are sent concurrently (one slow endpoint does not hold up the others): each runs
the synchronous domain call on a thread of its own. A record that must be tried again gets its message's
visibility changed to the next delay of the schedule and is reported as a batch item failure; see
`leadhub.outbound.delivery_attempt` for the schedule, the DLQ and the queue's `maxReceiveCount`.

A body that is not a delivery job can never succeed: it is logged (message id and error type, never
the body) and made visible again at once, so it reaches the DLQ after `maxReceiveCount` quick receives
instead of occupying the queue for the length of the schedule.
"""

from __future__ import annotations

from leadhub.platform import cold_start  # first: garbage collection waits until imports_done() below

# isort: split
import asyncio
import contextlib
import contextvars
import dataclasses
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadhub.outbound.adapters.dns_resolver import SystemResolver
from leadhub.outbound.adapters.dynamodb_delivery_batch_reader import DynamoDeliveryBatchReader
from leadhub.outbound.adapters.dynamodb_delivery_log import DynamoDeliveryLog
from leadhub.outbound.adapters.dynamodb_endpoints import DynamoEndpointRepository
from leadhub.outbound.adapters.pinned_http_sender import PinnedHttpSender
from leadhub.outbound.adapters.sqs_delivery_queue import SqsDeliveryQueue
from leadhub.outbound.batch_stores import BatchDeliveries, BatchEndpoints
from leadhub.outbound.delivery_attempt import AttemptResult, DeliveryConfig, DeliveryPorts, attempt_delivery
from leadhub.outbound.models import DeliveryJob
from leadhub.platform.adapters.kms_cipher import KmsCipher
from leadhub.platform.decryption_cache import DecryptionCache
from leadhub.platform.errors import StorageUnavailable
from leadhub.platform.settings import DeliveryWorkerSettings, load_settings
from leadhub.platform.timestamps import utc_now

settings = load_settings(DeliveryWorkerSettings)
logger = Logger()
processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
queue = SqsDeliveryQueue(settings.delivery_queue_url)
batch_reader = DynamoDeliveryBatchReader(settings.table_name)
ports = DeliveryPorts(
    log=DynamoDeliveryLog(settings.table_name),
    endpoints=DynamoEndpointRepository(settings.table_name),
    cipher=DecryptionCache(KmsCipher(settings.kms_key_id)),
    resolver=SystemResolver(),
    http=PinnedHttpSender(),
)
config = DeliveryConfig(
    schedule=settings.retry_schedule,
    jitter=settings.delivery_retry_jitter,
    timeout_s=settings.delivery_timeout_seconds,
    auto_disable_after=timedelta(hours=settings.endpoint_auto_disable_hours),
    allow_private_targets=settings.allow_private_webhook_targets,
)
# One thread per record of a full batch (BatchSize 10). asyncio's default executor is sized from the
# CPU count, which on Lambda would send a batch of 10 in two waves.
senders = ThreadPoolExecutor(max_workers=10, thread_name_prefix="delivery")


class NotFinished(Exception):
    """Reported as a batch item failure; the message's visibility was set for its next receive."""


def deliver(record: SQSRecord, batch_ports: DeliveryPorts) -> AttemptResult:
    try:
        job = DeliveryJob.from_message(record.body)
    except (ValueError, KeyError, TypeError) as exc:
        logger.error(
            "malformed delivery message", extra={"message_id": record.message_id, "error": type(exc).__name__}
        )
        queue.delay(record.receipt_handle, 0)
        raise NotFinished(f"malformed message {record.message_id}") from None
    receive_count = int(record.attributes.get("ApproximateReceiveCount") or 1)
    result = attempt_delivery(job, receive_count, ports=batch_ports, config=config, now=utc_now())
    logger.info(
        "delivery attempt",
        extra={
            "delivery_id": result.delivery_id,
            "endpoint_id": result.endpoint_id,
            "outcome": str(result.disposition),
            "attempt": result.attempt,
            "status_code": result.status_code,
            "error_class": result.error_class,
            "duration_ms": result.duration_ms,
            "retry_in_s": result.visibility_timeout,
        },
    )
    if result.visibility_timeout is not None:
        queue.delay(record.receipt_handle, result.visibility_timeout)
        raise NotFinished(f"{result.disposition} {result.delivery_id}")
    return result


# The ports of the batch being processed: the shared ones, with the batch's reads done up front.
batch_ports: contextvars.ContextVar[DeliveryPorts] = contextvars.ContextVar("batch_ports", default=ports)


def ports_for_batch(event: dict[str, Any]) -> DeliveryPorts:
    """Read every delivery record and endpoint of the batch before its sends start, in one BatchGetItem,
    instead of two GetItems per record that would queue up behind each other."""
    jobs = []
    for record in event.get("Records", []):
        with contextlib.suppress(ValueError, KeyError, TypeError):  # reported by `deliver`
            jobs.append(DeliveryJob.from_message(record["body"]))
    log, endpoints = BatchDeliveries(ports.log), BatchEndpoints(ports.endpoints)
    delivery_keys = [(job.account_id, job.delivery_id) for job in jobs]
    endpoint_keys = [(job.account_id, job.endpoint_id) for job in jobs]
    try:
        deliveries_found, endpoints_found = batch_reader.read(delivery_keys, endpoint_keys)
    except StorageUnavailable:
        # Not fatal: each record reads what it needs, and a record that cannot read fails alone.
        logger.warning("batch read failed; reading per record", exc_info=True)
    else:
        log.remember(delivery_keys, deliveries_found)
        endpoints.remember(endpoint_keys, endpoints_found)
    return dataclasses.replace(ports, log=log, endpoints=endpoints)


async def record_handler(record: SQSRecord) -> str:
    run = contextvars.copy_context().run
    result = await asyncio.get_running_loop().run_in_executor(
        senders, run, deliver, record, batch_ports.get()
    )
    return str(result.disposition)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    token = batch_ports.set(ports_for_batch(event))
    try:
        return async_process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    finally:
        batch_ports.reset(token)


cold_start.imports_done()
