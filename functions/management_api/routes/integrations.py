"""Messaging channel integrations (`integrations:manage`): connect, show and disconnect."""

from __future__ import annotations

from typing import Any

import deps
from aws_lambda_powertools.event_handler.api_gateway import Router
from schemas import EmailConnectRequest, IntegrationOut, TelegramConnectRequest, WhatsAppConnectRequest

from leadhub.domain import email_integration as email
from leadhub.domain import integrations
from leadhub.domain import telegram_integration as telegram
from leadhub.domain import whatsapp_integration as whatsapp
from leadhub.models.account import Scope
from leadhub.models.conversation import Channel
from leadhub.models.integration import Integration
from leadhub.timestamps import utc_now

router = Router()
TAGS = ["Integrations"]
WEBHOOK_PATHS = {
    Channel.WHATSAPP: "/api/webhooks/meta-whatsapp",
    Channel.TELEGRAM: telegram.WEBHOOK_PATH,
    Channel.EMAIL: "/api/webhooks/email",
}


def _connected(account_id: str, channel: Channel) -> Integration:
    return integrations.get_integration(account_id, channel, integrations=deps.integrations)


def _out(integration: Integration, **extra: Any) -> IntegrationOut:
    webhook_url = deps.public_base_url(router) + WEBHOOK_PATHS[integration.channel]
    return IntegrationOut.model_validate({"webhookUrl": webhook_url, **integration.to_public(), **extra})


@router.put(
    "/api/integrations/whatsapp",
    summary="Connect a WhatsApp Business number (checked with the Graph API)",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
)
def put_whatsapp(request: WhatsAppConnectRequest) -> IntegrationOut:
    caller = deps.principal(router, Scope.INTEGRATIONS_MANAGE)
    connection = whatsapp.WhatsAppConnection(request.wabaId, request.phoneNumberId, request.accessToken)
    integration = whatsapp.connect_whatsapp(
        caller.account_id,
        connection,
        graph=deps.graph_api(),
        integrations=deps.integrations,
        cipher=deps.cipher,
        actor=caller.key_id,
        now=utc_now(),
    )
    return _out(integration)


@router.get(
    "/api/integrations/whatsapp",
    summary="The WhatsApp integration",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
)
def get_whatsapp() -> IntegrationOut:
    caller = deps.principal(router, Scope.INTEGRATIONS_MANAGE)
    return _out(
        integrations.get_integration(caller.account_id, Channel.WHATSAPP, integrations=deps.integrations)
    )


@router.delete(
    "/api/integrations/whatsapp",
    summary="Disconnect WhatsApp (its webhooks are ignored from then on)",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
)
def delete_whatsapp() -> IntegrationOut:
    caller = deps.principal(router, Scope.INTEGRATIONS_MANAGE)
    removed = integrations.disconnect(
        caller.account_id,
        Channel.WHATSAPP,
        integrations=deps.integrations,
        actor=caller.key_id,
        now=utc_now(),
    )
    return _out(removed)


@router.put(
    "/api/integrations/telegram",
    summary="Connect a Telegram bot (checked with getMe; we register its webhook)",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
)
def put_telegram(request: TelegramConnectRequest) -> IntegrationOut:
    caller = deps.principal(router, Scope.INTEGRATIONS_MANAGE)
    integration = telegram.connect_telegram(
        caller.account_id,
        request.telegramBotToken,
        public_base_url=deps.public_base_url(router),
        bot_api=deps.telegram_bot_api(),
        integrations=deps.integrations,
        cipher=deps.cipher,
        actor=caller.key_id,
        now=utc_now(),
    )
    return _out(integration)


@router.get(
    "/api/integrations/telegram",
    summary="The Telegram integration",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
)
def get_telegram() -> IntegrationOut:
    caller = deps.principal(router, Scope.INTEGRATIONS_MANAGE)
    return _out(
        integrations.get_integration(caller.account_id, Channel.TELEGRAM, integrations=deps.integrations)
    )


@router.delete(
    "/api/integrations/telegram",
    summary="Disconnect the Telegram bot (deleteWebhook)",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
)
def delete_telegram() -> IntegrationOut:
    caller = deps.principal(router, Scope.INTEGRATIONS_MANAGE)
    removed = telegram.disconnect_telegram(
        caller.account_id,
        bot_api=deps.telegram_bot_api(),
        integrations=deps.integrations,
        cipher=deps.cipher,
        actor=caller.key_id,
        now=utc_now(),
    )
    return _out(removed)


@router.put(
    "/api/integrations/email",
    summary="Connect email: registers the sending domain with Resend and returns the DNS records to add",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
)
def put_email(request: EmailConnectRequest) -> IntegrationOut:
    caller = deps.principal(router, Scope.INTEGRATIONS_MANAGE)
    integration, records = email.connect_email(
        caller.account_id,
        request.emailFromAddress,
        request.emailFromName,
        domains=deps.resend_domains(),
        integrations=deps.integrations,
        actor=caller.key_id,
        now=utc_now(),
    )
    return _out(integration, dnsRecords=records)


@router.get(
    "/api/integrations/email", summary="The email integration", security=deps.API_KEY_SECURITY, tags=TAGS
)
def get_email() -> IntegrationOut:
    caller = deps.principal(router, Scope.INTEGRATIONS_MANAGE)
    return _out(
        integrations.get_integration(caller.account_id, Channel.EMAIL, integrations=deps.integrations)
    )


@router.post(
    "/api/integrations/email/verify",
    summary="Ask Resend to verify the domain's DNS records; returns the domain status",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
)
def verify_email() -> IntegrationOut:
    caller = deps.principal(router, Scope.INTEGRATIONS_MANAGE)
    integration, records = email.verify_email_domain(
        caller.account_id,
        domains=deps.resend_domains(),
        integrations=deps.integrations,
        actor=caller.key_id,
        now=utc_now(),
    )
    return _out(integration, dnsRecords=records)


@router.delete(
    "/api/integrations/email",
    summary="Disconnect email (mail to the domain is ignored from then on)",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
)
def delete_email() -> IntegrationOut:
    caller = deps.principal(router, Scope.INTEGRATIONS_MANAGE)
    removed = integrations.disconnect(
        caller.account_id, Channel.EMAIL, integrations=deps.integrations, actor=caller.key_id, now=utc_now()
    )
    return _out(removed)
