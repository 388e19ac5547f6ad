"""ConversationQueue consumer (SQS FIFO, one message group per conversation): answers each inbound
message through the responder and sends the reply through the conversation's channel. A conversation's
messages are answered in order; when one fails, the rest of its group waits for the retry (the retry,
dead-letter and skipped-record policy: leadhub.conversations.worker_jobs)."""

from __future__ import annotations

from leadhub.platform import cold_start  # first: garbage collection waits until imports_done() below

# isort: split
import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadhub.channels.adapters.dynamodb_integrations import DynamoIntegrations
from leadhub.channels.credentials import IntegrationCredentials
from leadhub.channels.email.adapters.email_sender import EmailSender
from leadhub.channels.email.adapters.resend_api import ResendApi
from leadhub.channels.senders import ChannelSenders
from leadhub.channels.telegram.adapters.bot_api import TelegramBotApi
from leadhub.channels.telegram.adapters.telegram_sender import TelegramSender
from leadhub.channels.web.adapters.web_sender import WebSender
from leadhub.channels.whatsapp.adapters.graph_api import GraphApi
from leadhub.channels.whatsapp.adapters.whatsapp_sender import WhatsAppSender
from leadhub.conversations.adapters.bedrock_model import BedrockModel
from leadhub.conversations.adapters.dynamodb_automations import DynamoAutomations
from leadhub.conversations.adapters.dynamodb_conversations import DynamoConversationStore
from leadhub.conversations.adapters.dynamodb_responder_settings import DynamoResponderSettings
from leadhub.conversations.caches import CachedAutomations, CachedResponderSettings
from leadhub.conversations.models import Channel
from leadhub.conversations.replies import SendRejected
from leadhub.conversations.worker_jobs import QueuedJob, release_skipped, run_job
from leadhub.platform.adapters.kms_cipher import KmsCipher
from leadhub.platform.adapters.sqs_queues import SqsJsonQueue
from leadhub.platform.adapters.ssm_secrets import SsmSecret
from leadhub.platform.settings import ConversationWorkerSettings, load_settings
from leadhub.platform.timestamps import utc_now

settings = load_settings(ConversationWorkerSettings)
logger = Logger()
# A failing conversation holds back only its own later messages, not the other conversations in the batch.
processor = SqsFifoPartialProcessor(skip_group_on_error=True)

# The ports, built once per execution environment.
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
        Channel.WEB: WebSender(),
    }
)


def record_handler(record: SQSRecord) -> None:
    job = QueuedJob(
        body=json.loads(record.body),
        message_id=record.message_id,
        group_id=record.attributes.message_group_id,
        receipt_handle=record.receipt_handle,
        receive_count=int(record.attributes.approximate_receive_count or 1),
    )
    try:
        outcome = run_job(
            job,
            utc_now(),
            store=store,
            automations=automations,
            responders=responders,
            model=model,
            sender=senders,
            queue=queue,
            dead_letters=dead_letters,
            retry_schedule=retry_schedule,
        )
    except SendRejected as rejected:
        logger.warning(
            "reply not sent; will retry", extra={"attempt": job.receive_count, "reason": rejected.reason}
        )
        raise
    logger.info(
        "conversation job done", extra={"outcome": outcome.outcome, "automation_id": outcome.automation_id}
    )


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    response: PartialItemFailureResponse
    try:
        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    except BatchProcessingError:  # every record failed: reported like any other batch's failures
        response = {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}
    identifiers = (item["itemIdentifier"] for item in response.get("batchItemFailures", []))
    failed = {i for i in identifiers if isinstance(i, str)}  # SQS message ids (only Kafka's are objects)
    release_skipped(event["Records"], failed, queue=queue)
    return response


cold_start.imports_done()
