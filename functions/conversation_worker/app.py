"""ConversationQueue consumer (SQS FIFO, one message group per conversation): answers each inbound
message through the responder and sends the reply through the conversation's channel. A conversation's
messages are answered in order; when one fails, the rest of its group waits for the retry."""

from __future__ import annotations

from leadhub.platform import cold_start  # first: garbage collection waits until imports_done() below

# isort: split
import json
import math
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadhub.channels.adapters.dynamodb_integrations import DynamoIntegrations
from leadhub.channels.credentials import IntegrationCredentials
from leadhub.channels.email.adapters.email_sender import EmailSender
from leadhub.channels.email.adapters.resend_api import ResendApi
from leadhub.channels.senders import ChannelSenders
from leadhub.channels.telegram.adapters.bot_api import TelegramBotApi
from leadhub.channels.telegram.adapters.telegram_sender import TelegramSender
from leadhub.channels.whatsapp.adapters.graph_api import GraphApi
from leadhub.channels.whatsapp.adapters.whatsapp_sender import WhatsAppSender
from leadhub.conversations.adapters.bedrock_model import BedrockModel
from leadhub.conversations.adapters.dynamodb_automations import DynamoAutomations
from leadhub.conversations.adapters.dynamodb_conversations import DynamoConversationStore
from leadhub.conversations.adapters.dynamodb_responder_settings import DynamoResponderSettings
from leadhub.conversations.caches import CachedAutomations, CachedResponderSettings
from leadhub.conversations.jobs import ReplyJob, job_from_message
from leadhub.conversations.models import Channel
from leadhub.conversations.replies import EXHAUSTED, SendRejected, answer, send_queued
from leadhub.platform.adapters.kms_cipher import KmsCipher
from leadhub.platform.adapters.sqs_queues import SqsJsonQueue
from leadhub.platform.adapters.ssm_secrets import SsmSecret
from leadhub.platform.retry_schedule import next_delay
from leadhub.platform.settings import ConversationWorkerSettings, load_settings
from leadhub.platform.timestamps import utc_now

settings = load_settings(ConversationWorkerSettings)
logger = Logger()
# A failing conversation holds back only its own later messages, not the other conversations in the batch.
processor = SqsFifoPartialProcessor(skip_group_on_error=True)
# A batch whose every record failed is reported like any other (its constructor has no such parameter):
# raising would skip release_skipped below.
processor.raise_on_entire_batch_failure = False

store = DynamoConversationStore(settings.table_name)
automations = CachedAutomations(DynamoAutomations(settings.table_name), settings.automation_cache_seconds)
responders = CachedResponderSettings(
    DynamoResponderSettings(settings.table_name), settings.automation_cache_seconds
)
model = BedrockModel(settings.bedrock_endpoint_url, settings.bedrock_timeout_seconds)
queue = SqsJsonQueue(settings.conversation_queue_url)
dead_letters = SqsJsonQueue(settings.conversation_dlq_url)
retry_schedule = settings.retry_schedule
credentials = IntegrationCredentials(DynamoIntegrations(settings.table_name), KmsCipher(settings.kms_key_id))
resend = ResendApi(settings.resend_api_base_url, SsmSecret(settings.resend_api_key_parameter))
senders = ChannelSenders(
    {
        Channel.WHATSAPP: WhatsAppSender(GraphApi(settings.graph_api_base_url), credentials),
        Channel.TELEGRAM: TelegramSender(TelegramBotApi(settings.telegram_api_base_url), credentials),
        Channel.EMAIL: EmailSender(resend, credentials, settings.resend_receiving_domain),
    }
)


def record_handler(record: SQSRecord) -> None:
    job = job_from_message(json.loads(record.body))
    attempt = int(record.attributes.approximate_receive_count or 1)
    last_attempt = attempt >= len(retry_schedule)
    try:
        if isinstance(job, ReplyJob):
            outcome = answer(
                job,
                store=store,
                automations=automations,
                responders=responders,
                model=model,
                sender=senders,
                now=utc_now(),
                last_attempt=last_attempt,
            )
        else:  # an agent's message
            outcome = send_queued(job, store=store, sender=senders, now=utc_now(), last_attempt=last_attempt)
    except SendRejected as rejected:
        asked = None if rejected.retry_after is None else str(math.ceil(rejected.retry_after))
        delay = next_delay(retry_schedule, attempt, retry_after=asked) or 0
        queue.delay(record.receipt_handle, math.ceil(delay))
        logger.warning("reply not sent; will retry", extra={"attempt": attempt, "reason": rejected.reason})
        raise
    if outcome.outcome == EXHAUSTED:
        # Moved by us, not by the queue's redrive: the conversation's next messages need not wait for it.
        dead_letters.send(
            json.loads(record.body), group_id=record.attributes.message_group_id, dedupe_id=record.message_id
        )
    logger.info(
        "conversation job done", extra={"outcome": outcome.outcome, "automation_id": outcome.automation_id}
    )


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    release_skipped(event, response)
    return response


def release_skipped(event: dict[str, Any], response: dict[str, Any]) -> None:
    """Make the records skipped behind a failed one visible again now: their group stays locked while
    its failed head waits out its retry delay, and resumes, in order, as soon as that ends (instead of
    after the queue's visibility timeout, which is what the skipped records would otherwise wait)."""
    failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
    failed_groups: set[str | None] = set()
    for record in event["Records"]:
        if record["messageId"] not in failed:
            continue
        group = record["attributes"].get("MessageGroupId")
        if group in failed_groups:  # behind its group's first failure: skipped, never tried
            queue.delay(record["receiptHandle"], 0)
        failed_groups.add(group)


cold_start.imports_done()
