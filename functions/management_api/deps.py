"""What the management routes depend on, built once per execution environment (clients stay lazy).

What only some resources' routes use is built, and its modules imported, on first use: a cold start
serving one route does not import every repository (PEP 562 `__getattr__` below, ~25 ms)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler.api_gateway import Router

from leadhub.adapters.dynamodb_accounts import DynamoAccountRepository
from leadhub.adapters.kms_cipher import KmsCipher
from leadhub.adapters.ssm_secrets import SsmSecret
from leadhub.domain.api_keys import authenticate, require_scope
from leadhub.models.account import Principal, Scope
from leadhub.settings import ManagementSettings, load_settings
from leadhub.web import base_url

if TYPE_CHECKING:
    from leadhub.adapters.dynamodb_automations import DynamoAutomations
    from leadhub.adapters.dynamodb_conversations import DynamoConversationStore
    from leadhub.adapters.dynamodb_dashboard import DynamoSignInLinks
    from leadhub.adapters.dynamodb_integrations import DynamoIntegrations
    from leadhub.adapters.dynamodb_leads import DynamoLeadRepository
    from leadhub.adapters.dynamodb_responder import DynamoResponderSettings
    from leadhub.adapters.dynamodb_widget import DynamoWidgets
    from leadhub.adapters.sqs_jobs import SqsJsonQueue
    from leadhub.domain.deliveries import DeliveryRecords, JobSender
    from leadhub.domain.email_integration import ResendDomains
    from leadhub.domain.telegram_integration import TelegramBotApiPort
    from leadhub.domain.url_safety import HttpPost, Resolver
    from leadhub.domain.webhook_endpoints import EndpointContext
    from leadhub.domain.whatsapp_integration import GraphApiPort

    leads: DynamoLeadRepository
    conversations: DynamoConversationStore
    integrations: DynamoIntegrations
    automations: DynamoAutomations
    responders: DynamoResponderSettings
    sign_in_links: DynamoSignInLinks
    widgets: DynamoWidgets

settings = load_settings(ManagementSettings)
accounts = DynamoAccountRepository(settings.table_name)
cipher = KmsCipher(settings.kms_key_id)
admin_key = SsmSecret(settings.admin_key_parameter)


def _leads() -> DynamoLeadRepository:
    from leadhub.adapters.dynamodb_leads import DynamoLeadRepository

    return DynamoLeadRepository(settings.table_name)


def _conversations() -> DynamoConversationStore:
    from leadhub.adapters.dynamodb_conversations import DynamoConversationStore

    return DynamoConversationStore(settings.table_name)


def _integrations() -> DynamoIntegrations:
    from leadhub.adapters.dynamodb_integrations import DynamoIntegrations

    return DynamoIntegrations(settings.table_name)


def _automations() -> DynamoAutomations:
    from leadhub.adapters.dynamodb_automations import DynamoAutomations

    return DynamoAutomations(settings.table_name)


def _responders() -> DynamoResponderSettings:
    from leadhub.adapters.dynamodb_responder import DynamoResponderSettings

    return DynamoResponderSettings(settings.table_name)


def _sign_in_links() -> DynamoSignInLinks:
    from leadhub.adapters.dynamodb_dashboard import DynamoSignInLinks

    return DynamoSignInLinks(settings.table_name)


def _widgets() -> DynamoWidgets:
    from leadhub.adapters.dynamodb_widget import DynamoWidgets

    return DynamoWidgets(settings.table_name)


_BUILT_ON_FIRST_USE = {
    "leads": _leads,
    "conversations": _conversations,
    "integrations": _integrations,
    "automations": _automations,
    "responders": _responders,
    "sign_in_links": _sign_in_links,
    "widgets": _widgets,
}


def __getattr__(name: str) -> object:
    """`deps.leads` etc.: built on first use, then an ordinary module attribute."""
    build = _BUILT_ON_FIRST_USE.get(name)
    if build is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = build()
    return value


API_KEY_SECURITY = [{"apiKey": []}]
ADMIN_KEY_SECURITY = [{"adminKey": []}]


def principal(router: Router, scope: Scope) -> Principal:
    """The caller of this request, refused (401/403) unless its key is valid and holds `scope`."""
    caller = authenticate(router.current_event.headers.get("x-api-key"), accounts=accounts)
    require_scope(caller, scope)
    return caller


@cache
def outbound() -> Outbound:
    """The delivery log, the queue and the HTTP client: built on first use (endpoint routes only)."""
    from leadhub.adapters.dns_resolver import SystemResolver
    from leadhub.adapters.dynamodb_deliveries import DynamoDeliveryLog
    from leadhub.adapters.http_sender import PinnedHttpSender
    from leadhub.adapters.sqs_jobs import SqsJobQueue

    return Outbound(
        records=DynamoDeliveryLog(settings.table_name),
        queue=SqsJobQueue(settings.delivery_queue_url),
        resolver=SystemResolver(),
        http=PinnedHttpSender(),
    )


@dataclass(frozen=True)
class Outbound:
    records: DeliveryRecords
    queue: JobSender
    resolver: Resolver
    http: HttpPost


@cache
def endpoint_context() -> EndpointContext:
    """Built on first use: only endpoint routes pay for the HTTP client and DNS resolver imports."""
    from leadhub.adapters.dynamodb_endpoints import DynamoEndpointRepository
    from leadhub.domain.endpoint_verification import handshake_verifier
    from leadhub.domain.webhook_endpoints import EndpointContext

    resolver, http = outbound().resolver, outbound().http
    allow_private = settings.allow_private_webhook_targets
    return EndpointContext(
        endpoints=DynamoEndpointRepository(settings.table_name),
        accounts=accounts,
        cipher=cipher,
        resolver=resolver,
        verifier=handshake_verifier(resolver, http, allow_private=allow_private),
        allow_private_targets=allow_private,
        secret_overlap=timedelta(hours=settings.webhook_secret_overlap_hours),
    )


def public_base_url(router: Router) -> str:
    return base_url(router.current_event, settings.public_base_url)


@cache
def graph_api() -> GraphApiPort:
    from leadhub.adapters.graph_api import GraphApi

    return GraphApi(settings.graph_api_base_url)


@cache
def telegram_bot_api() -> TelegramBotApiPort:
    from leadhub.adapters.telegram_bot_api import TelegramBotApi

    return TelegramBotApi(settings.telegram_api_base_url)


@cache
def resend_domains() -> ResendDomains:
    from leadhub.adapters.resend_api import ResendApi

    return ResendApi(settings.resend_api_base_url, SsmSecret(settings.resend_api_key_parameter))


@cache
def conversation_queue() -> SqsJsonQueue:
    from leadhub.adapters.sqs_jobs import SqsJsonQueue

    return SqsJsonQueue(settings.conversation_queue_url)
