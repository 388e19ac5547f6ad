"""EmailContentQueue consumer: fetch each inbound email's content from Resend and store the new text
with its message (which then becomes `message.received`). Failed jobs are retried by the queue and end
in its DLQ; each record fails alone."""

from __future__ import annotations

from leadhub.platform import cold_start  # first: garbage collection waits until imports_done() below

# isort: split
import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadhub.channels.email.adapters.resend_api import ResendApi
from leadhub.channels.email.content import complete_email
from leadhub.conversations.adapters.dynamodb_conversations import DynamoConversationStore
from leadhub.conversations.jobs import ContentJob
from leadhub.platform.adapters.ssm_secrets import SsmSecret
from leadhub.platform.settings import EmailContentSettings, load_settings

settings = load_settings(EmailContentSettings)
logger = Logger()
# A batch that fails entirely is reported like a partial one, not raised: the same records are retried.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

store = DynamoConversationStore(settings.table_name)
emails = ResendApi(settings.resend_api_base_url, SsmSecret(settings.resend_api_key_parameter))


def record_handler(record: SQSRecord) -> None:
    job = ContentJob.from_message(json.loads(record.body))
    completed = complete_email(job, emails=emails, store=store)
    logger.info("email content", extra={"email_id": job.email_id, "completed": completed})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


cold_start.imports_done()
