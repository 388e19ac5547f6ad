"""The management API's ports, built once per execution environment (clients stay lazy).

The accounts, the cipher and the admin key serve every request and are built at import. The others are
built, and their modules imported, by the first request that needs them (one `@cache` function each): a
cold start serving one route does not import every repository or the HTTP sender (~25 ms)."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler.api_gateway import Router

from leadhub.accounts.adapters.dynamodb_accounts import DynamoAccountRepository
from leadhub.accounts.api_keys import authenticate, require_scope
from leadhub.accounts.models import Principal, Scope
from leadhub.platform.adapters.kms_cipher import KmsCipher
from leadhub.platform.adapters.ssm_secrets import SsmSecret
from leadhub.platform.settings import ManagementSettings, load_settings
from leadhub.platform.web import base_url

if TYPE_CHECKING:
    from leadhub.channels.email.ports import ResendDomains
    from leadhub.channels.ports import IntegrationStore
    from leadhub.channels.telegram.ports import TelegramBotApiPort
    from leadhub.channels.web.ports import WidgetStore
    from leadhub.channels.whatsapp.ports import GraphApiPort
    from leadhub.conversations.ports import (
        AutomationStore,
        ConversationQueue,
        ConversationStore,
        ResponderStore,
    )
    from leadhub.dashboard.ports import SignInLinks
    from leadhub.leads.ports import LeadRepository
    from leadhub.outbound.endpoints import Verifier
    from leadhub.outbound.ports import DeliveryLog, DeliveryQueue, EndpointRepository, HttpPost, Resolver

settings = load_settings(ManagementSettings)
accounts = DynamoAccountRepository(settings.table_name)
cipher = KmsCipher(settings.kms_key_id)
admin_key = SsmSecret(settings.admin_key_parameter)
# Configuration the endpoint routes pass on with the ports.
allow_private_targets = settings.allow_private_webhook_targets
secret_overlap = timedelta(hours=settings.webhook_secret_overlap_hours)

API_KEY_SECURITY: list[dict[str, list[str]]] = [{"apiKey": []}]
ADMIN_KEY_SECURITY: list[dict[str, list[str]]] = [{"adminKey": []}]


def principal(router: Router, scope: Scope) -> Principal:
    """The caller of this request, refused (401/403) unless its key is valid and holds `scope`."""
    caller = authenticate(router.current_event.headers.get("x-api-key"), accounts=accounts)
    require_scope(caller, scope)
    return caller


def public_base_url(router: Router) -> str:
    return base_url(router.current_event, settings.public_base_url)


@cache
def leads() -> LeadRepository:
    from leadhub.leads.adapters.dynamodb_leads import DynamoLeadRepository

    return DynamoLeadRepository(settings.table_name)


@cache
def conversations() -> ConversationStore:
    from leadhub.conversations.adapters.dynamodb_conversations import DynamoConversationStore

    return DynamoConversationStore(settings.table_name)


@cache
def conversation_queue() -> ConversationQueue:
    from leadhub.platform.adapters.sqs_queues import SqsJsonQueue

    return SqsJsonQueue(settings.conversation_queue_url)


@cache
def automations() -> AutomationStore:
    from leadhub.conversations.adapters.dynamodb_automations import DynamoAutomations

    return DynamoAutomations(settings.table_name)


@cache
def responders() -> ResponderStore:
    from leadhub.conversations.adapters.dynamodb_responder_settings import DynamoResponderSettings

    return DynamoResponderSettings(settings.table_name)


@cache
def integrations() -> IntegrationStore:
    from leadhub.channels.adapters.dynamodb_integrations import DynamoIntegrations

    return DynamoIntegrations(settings.table_name)


@cache
def graph_api() -> GraphApiPort:
    from leadhub.channels.whatsapp.adapters.graph_api import GraphApi

    return GraphApi(settings.graph_api_base_url)


@cache
def telegram_bot_api() -> TelegramBotApiPort:
    from leadhub.channels.telegram.adapters.bot_api import TelegramBotApi

    return TelegramBotApi(settings.telegram_api_base_url)


@cache
def resend_domains() -> ResendDomains:
    from leadhub.channels.email.adapters.resend_api import ResendApi

    return ResendApi(settings.resend_api_base_url, SsmSecret(settings.resend_api_key_parameter))


@cache
def endpoints() -> EndpointRepository:
    from leadhub.outbound.adapters.dynamodb_endpoints import DynamoEndpointRepository

    return DynamoEndpointRepository(settings.table_name)


@cache
def delivery_log() -> DeliveryLog:
    from leadhub.outbound.adapters.dynamodb_delivery_log import DynamoDeliveryLog

    return DynamoDeliveryLog(settings.table_name)


@cache
def delivery_queue() -> DeliveryQueue:
    from leadhub.outbound.adapters.sqs_delivery_queue import SqsDeliveryQueue

    return SqsDeliveryQueue(settings.delivery_queue_url)


@cache
def resolver() -> Resolver:
    from leadhub.outbound.adapters.dns_resolver import SystemResolver

    return SystemResolver()


@cache
def http() -> HttpPost:
    from leadhub.outbound.adapters.pinned_http_sender import PinnedHttpSender

    return PinnedHttpSender()


@cache
def verifier() -> Verifier:
    """The signed webhook.verify handshake, through the same resolver and HTTP sender."""
    from leadhub.outbound.endpoint_verification import handshake_verifier

    return handshake_verifier(resolver(), http(), allow_private=allow_private_targets)


@cache
def sign_in_links() -> SignInLinks:
    from leadhub.dashboard.adapters.dynamodb_dashboard import DynamoSignInLinks

    return DynamoSignInLinks(settings.table_name)


@cache
def widgets() -> WidgetStore:
    from leadhub.channels.web.adapters.dynamodb_widget import DynamoWidgets

    return DynamoWidgets(settings.table_name)
