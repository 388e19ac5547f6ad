"""DeliveryQueue consumer: each record is one attempt of one signed webhook delivery
(leadhub.outbound.delivery_jobs; the schedule, the DLQ and the queue's `maxReceiveCount` are in
leadhub.outbound.delivery_attempt).

The records of a batch are sent concurrently (one slow endpoint does not hold up the others): each runs
the synchronous domain call on a thread of its own, on the batch's view of the stores."""

from __future__ import annotations

from leadhub.platform import cold_start  # first: garbage collection waits until imports_done() below

# isort: split
import asyncio
import contextvars
import functools
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadhub.outbound.adapters.dns_resolver import SystemResolver
from leadhub.outbound.adapters.dynamodb_delivery_batch_reader import DynamoDeliveryBatchReader
from leadhub.outbound.adapters.dynamodb_delivery_log import DynamoDeliveryLog
from leadhub.outbound.adapters.dynamodb_endpoints import DynamoEndpointRepository
from leadhub.outbound.adapters.pinned_http_sender import PinnedHttpSender
from leadhub.outbound.adapters.sqs_delivery_queue import SqsDeliveryQueue
from leadhub.outbound.batch_stores import BatchDeliveries, BatchEndpoints
from leadhub.outbound.delivery_attempt import AttemptResult, DeliveryConfig
from leadhub.outbound.delivery_jobs import MalformedJob, handle_delivery_message, stores_for_batch
from leadhub.platform.adapters.kms_cipher import KmsCipher
from leadhub.platform.decryption_cache import DecryptionCache
from leadhub.platform.settings import DeliveryWorkerSettings, load_settings
from leadhub.platform.timestamps import utc_now

settings = load_settings(DeliveryWorkerSettings)
logger = Logger()
processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

# The ports, built once per execution environment.
queue = SqsDeliveryQueue(settings.delivery_queue_url)
batch_reader = DynamoDeliveryBatchReader(settings.table_name)
log = DynamoDeliveryLog(settings.table_name)
endpoints = DynamoEndpointRepository(settings.table_name)
cipher = DecryptionCache(KmsCipher(settings.kms_key_id))
resolver = SystemResolver()
http = PinnedHttpSender()
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


def deliver(record: SQSRecord, batch_log: BatchDeliveries, batch_endpoints: BatchEndpoints) -> AttemptResult:
    try:
        result = handle_delivery_message(
            record.body,
            int(record.attributes.get("ApproximateReceiveCount") or 1),
            record.receipt_handle,
            utc_now(),
            queue=queue,
            log=batch_log,
            endpoints=batch_endpoints,
            cipher=cipher,
            resolver=resolver,
            http=http,
            config=config,
        )
    except MalformedJob as exc:
        logger.error("malformed delivery message", extra={"message_id": record.message_id, "error": str(exc)})
        raise NotFinished(f"malformed message {record.message_id}") from None
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
    if not result.done:
        raise NotFinished(f"{result.disposition} {result.delivery_id}")
    return result


async def record_handler(
    record: SQSRecord, batch_log: BatchDeliveries, batch_endpoints: BatchEndpoints
) -> str:
    run = contextvars.copy_context().run
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(senders, run, deliver, record, batch_log, batch_endpoints)
    return str(result.disposition)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    bodies = [record["body"] for record in event.get("Records", [])]
    batch_log, batch_endpoints, read_together = stores_for_batch(
        bodies, log=log, endpoints=endpoints, reader=batch_reader
    )
    if not read_together:
        logger.warning("batch read failed; reading per record")
    return async_process_partial_response(
        event=event,
        record_handler=functools.partial(
            record_handler, batch_log=batch_log, batch_endpoints=batch_endpoints
        ),
        processor=processor,
        context=context,
    )


cold_start.imports_done()
