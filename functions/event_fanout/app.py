"""The outbox consumer: each stream record of the table becomes events, and each event one delivery
job per matching endpoint on the delivery queue; an inbound email stored without its content becomes a
content job, and every complete inbound message a job for the conversation worker. Failed records are
reported individually."""

from __future__ import annotations

from leadhub.platform import cold_start  # first: garbage collection waits until imports_done() below

# isort: split
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadhub.accounts.adapters.dynamodb_accounts import DynamoAccountRepository
from leadhub.accounts.caches import CachedParents
from leadhub.conversations.adapters.dynamodb_conversation_items import (
    conversation_from_image,
    message_from_image,
)
from leadhub.leads.adapters.dynamodb_leads import lead_from_image
from leadhub.outbound.adapters.dynamodb_delivery_log import DynamoDeliveryLog
from leadhub.outbound.adapters.dynamodb_endpoints import DynamoEndpointRepository, endpoint_from_image
from leadhub.outbound.adapters.sqs_delivery_queue import SqsDeliveryQueue
from leadhub.outbound.batch_stores import EndpointsPerBatch
from leadhub.outbound.stored_changes import StoredChange, handle_change
from leadhub.platform.adapters.sqs_queues import SqsJsonQueue
from leadhub.platform.settings import FanoutSettings, load_settings
from leadhub.platform.timestamps import to_iso, utc_now

settings = load_settings(FanoutSettings)
logger = Logger()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

# The ports, built once per execution environment.
endpoints = EndpointsPerBatch(DynamoEndpointRepository(settings.table_name))
parents = CachedParents(DynamoAccountRepository(settings.table_name))
deliveries = DynamoDeliveryLog(settings.table_name)
queue = SqsDeliveryQueue(settings.delivery_queue_url)
email_contents = SqsJsonQueue(settings.email_content_queue_url)
conversation_jobs = SqsJsonQueue(settings.conversation_queue_url)


def record_handler(record: DynamoDBRecord) -> None:
    try:
        fan_out_record(record)
    except Exception:
        # The record is reported as a batch item failure and retried; say why (ids only, no images).
        logger.exception("stream record failed", extra={"event_id": record.event_id})
        raise


def fan_out_record(record: DynamoDBRecord) -> None:
    images = record.raw_event.get("dynamodb", {})
    old, new = images.get("OldImage"), images.get("NewImage")
    change = StoredChange(
        old_lead=lead_from_image(old),
        new_lead=lead_from_image(new),
        old_conversation=conversation_from_image(old),
        new_conversation=conversation_from_image(new),
        old_message=message_from_image(old),
        new_message=message_from_image(new),
        old_endpoint=endpoint_from_image(old),
        new_endpoint=endpoint_from_image(new),
    )
    facts, result = handle_change(
        change,
        to_iso(utc_now()),
        email_contents=email_contents,
        conversation_jobs=conversation_jobs,
        endpoints=endpoints,
        parents=parents,
        log=deliveries,
        queue=queue,
    )
    if result is not None:
        logger.info(
            "facts fanned out",
            extra={
                "events": [f.event for f in facts],
                "enqueued": result.enqueued,
                "repeats": result.already_enqueued,
            },
        )


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    endpoints.start_batch()
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


cold_start.imports_done()
