"""Messaging channel integrations (`integrations:manage`): connect, show and disconnect."""

from __future__ import annotations

from typing import Annotated, Any

import deps
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from schemas import JSON_BODY, KEYED, responses
from schemas.integrations import (
    EmailConnectRequest,
    IntegrationOut,
    TelegramConnectRequest,
    WhatsAppConnectRequest,
)

from leadhub.accounts.models import Scope
from leadhub.channels import integrations
from leadhub.channels.email import integration as email
from leadhub.channels.models import Integration
from leadhub.channels.telegram import integration as telegram
from leadhub.channels.whatsapp import integration as whatsapp
from leadhub.conversations.models import Channel
from leadhub.platform.timestamps import utc_now

router = Router()
TAGS = ["Integrations"]
ChannelName = Annotated[Channel, Path(description="whatsapp, telegram or email")]


def _out(integration: Integration, **extra: Any) -> IntegrationOut:
    webhook_url = deps.public_base_url(router) + integrations.WEBHOOK_PATHS[integration.channel]
    return IntegrationOut.model_validate({"webhookUrl": webhook_url, **integration.to_public(), **extra})


@router.put(
    "/api/integrations/whatsapp",
    summary="Connect a WhatsApp Business number (checked with the Graph API)",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(
        200, 409, 502, *JSON_BODY, *KEYED, why={409: "The number is connected to another account"}
    ),
)
def put_whatsapp(request: WhatsAppConnectRequest) -> IntegrationOut:
    caller = deps.principal(router, Scope.INTEGRATIONS_MANAGE)
    connection = whatsapp.WhatsAppConnection(request.wabaId, request.phoneNumberId, request.accessToken)
    integration = whatsapp.connect_whatsapp(
        caller.account_id,
        connection,
        graph=deps.graph_api(),
        integrations=deps.integrations(),
        cipher=deps.cipher,
        actor=caller.key_id,
        now=utc_now(),
    )
    return _out(integration)


@router.put(
    "/api/integrations/telegram",
    summary="Connect a Telegram bot (checked with getMe; we register its webhook)",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(
        200, 409, 502, *JSON_BODY, *KEYED, why={409: "The bot is connected to another account"}
    ),
)
def put_telegram(request: TelegramConnectRequest) -> IntegrationOut:
    caller = deps.principal(router, Scope.INTEGRATIONS_MANAGE)
    integration = telegram.connect_telegram(
        caller.account_id,
        request.telegramBotToken,
        public_base_url=deps.public_base_url(router),
        bot_api=deps.telegram_bot_api(),
        integrations=deps.integrations(),
        cipher=deps.cipher,
        actor=caller.key_id,
        now=utc_now(),
    )
    return _out(integration)


@router.put(
    "/api/integrations/email",
    summary="Connect email: registers the domain with Resend for sending and receiving and returns the DNS "
    "records to add (the receiving MX record among them)",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(
        200, 409, 502, *JSON_BODY, *KEYED, why={409: "The domain is connected to another account"}
    ),
)
def put_email(request: EmailConnectRequest) -> IntegrationOut:
    caller = deps.principal(router, Scope.INTEGRATIONS_MANAGE)
    integration, records = email.connect_email(
        caller.account_id,
        request.emailFromAddress,
        request.emailFromName,
        domains=deps.resend_domains(),
        integrations=deps.integrations(),
        actor=caller.key_id,
        now=utc_now(),
    )
    return _out(integration, dnsRecords=records)


@router.post(
    "/api/integrations/email/verify",
    summary="Ask Resend to check the domain's DNS records (it does so asynchronously: usually `pending` at "
    "first); returns the status Resend gives right after asking",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, 400, 404, 502, *KEYED),
)
def verify_email() -> IntegrationOut:
    caller = deps.principal(router, Scope.INTEGRATIONS_MANAGE)
    integration, records = email.verify_email_domain(
        caller.account_id,
        domains=deps.resend_domains(),
        integrations=deps.integrations(),
        actor=caller.key_id,
        now=utc_now(),
    )
    return _out(integration, dnsRecords=records)


@router.get(
    "/api/integrations/<channel>",
    summary="A connected channel (email: the domain's status and DNS records as Resend has them now)",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, 400, 404, *KEYED),
)
def get_channel(channel: ChannelName) -> IntegrationOut:
    caller = deps.principal(router, Scope.INTEGRATIONS_MANAGE)
    if channel is Channel.EMAIL:
        integration, observed = email.show_email_integration(
            caller.account_id, domains=deps.resend_domains(), integrations=deps.integrations(), now=utc_now()
        )
        return _out(integration, **observed)
    return _out(integrations.get_integration(caller.account_id, channel, integrations=deps.integrations()))


@router.delete(
    "/api/integrations/<channel>",
    summary="Disconnect a channel (Telegram: deleteWebhook); its webhooks are refused or ignored",
    security=deps.API_KEY_SECURITY,
    tags=TAGS,
    responses=responses(200, 400, 404, 502, *KEYED),
)
def delete_channel(channel: ChannelName) -> IntegrationOut:
    caller = deps.principal(router, Scope.INTEGRATIONS_MANAGE)
    if channel is Channel.TELEGRAM:
        removed = telegram.disconnect_telegram(
            caller.account_id,
            bot_api=deps.telegram_bot_api(),
            integrations=deps.integrations(),
            cipher=deps.cipher,
            actor=caller.key_id,
            now=utc_now(),
        )
    else:
        removed = integrations.disconnect(
            caller.account_id, channel, integrations=deps.integrations(), actor=caller.key_id, now=utc_now()
        )
    return _out(removed)
