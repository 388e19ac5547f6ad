"""Channels (/channels): connect WhatsApp, Telegram and email, verify the email domain, disconnect. The
same domain functions as PUT/GET/DELETE /api/integrations/* and POST /api/integrations/email/verify."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import wiring
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from leadhub.channels import integrations
from leadhub.channels.adapters.dynamodb_integrations import DynamoIntegrations
from leadhub.channels.email import integration as email_integration
from leadhub.channels.telegram import integration as telegram_integration
from leadhub.channels.whatsapp import integration as whatsapp_integration
from leadhub.conversations.models import Channel
from leadhub.dashboard.channels import CLAIMED_FIELD, channels_view
from leadhub.dashboard.http import Form, redirect, validated
from leadhub.dashboard.navigation import CHANNELS
from leadhub.dashboard.visit import Visit
from leadhub.platform.errors import Conflict, InvalidRequest, NotFound, ProviderUnavailable
from leadhub.platform.timestamps import utc_now

if TYPE_CHECKING:
    from leadhub.channels.email.ports import ResendDomains
    from leadhub.channels.telegram.ports import TelegramBotApiPort
    from leadhub.channels.whatsapp.ports import GraphApiPort

router = Router()
store = DynamoIntegrations(wiring.settings.table_name)
# What each form sends back into its fields after a refusal: never a token.
SHOWN_AGAIN = {
    Channel.WHATSAPP: ("wabaId", "phoneNumberId"),
    Channel.TELEGRAM: (),
    Channel.EMAIL: ("emailFromAddress", "emailFromName"),
}
NOTICES = {
    "connected": "{channel} is connected.",
    "disconnected": "{channel} is disconnected.",
}
LABELS = {Channel.WHATSAPP: "WhatsApp", Channel.TELEGRAM: "Telegram", Channel.EMAIL: "Email"}


# Provider clients: built on first use, so that other pages' cold starts never import them.
@cache
def graph_api() -> GraphApiPort:
    from leadhub.channels.whatsapp.adapters.graph_api import GraphApi

    return GraphApi(wiring.settings.graph_api_base_url)


@cache
def telegram_bot_api() -> TelegramBotApiPort:
    from leadhub.channels.telegram.adapters.bot_api import TelegramBotApi

    return TelegramBotApi(wiring.settings.telegram_api_base_url)


@cache
def resend_domains() -> ResendDomains:
    from leadhub.channels.email.adapters.resend_api import ResendApi
    from leadhub.platform.adapters.ssm_secrets import SsmSecret

    return ResendApi(wiring.settings.resend_api_base_url, SsmSecret(wiring.settings.resend_api_key_parameter))


def _channels_page(visit: Visit, status: int = 200, **context: Any) -> Response[str]:
    view = channels_view(
        visit.principal.account_id,
        wiring.public_base_url(router),
        integrations=store,
        domains=resend_domains(),
        widgets=wiring.widgets,
        now=utc_now(),
    )
    context = {"errors": {}, "entered": {}, "notice": _notice(), **context}
    return wiring.show(visit, "channels.html", "Channels", status, view=view, **context)


def _notice() -> str | None:
    event = router.current_event
    for key, words in NOTICES.items():
        name = event.get_query_string_value(key)
        if name in LABELS:
            return words.format(channel=LABELS[Channel(name)])
    if event.get_query_string_value("verification") == "requested":
        return (
            "Verification requested: Resend checks the records in the background (minutes, or longer while "
            "DNS changes spread). This page shows each record's state as Resend has it now."
        )
    return None


Refusal = InvalidRequest | Conflict | ProviderUnavailable


def _refused(
    visit: Visit, channel: Channel, form: Form, exc: Refusal, key: str | None = None
) -> Response[str]:
    """The page again, with the refusal next to the field it concerns (in the form `key`, by default the
    channel's), in the API's words."""
    if isinstance(exc, InvalidRequest):
        problems = {d.field.partition(".")[0]: d.message for d in exc.details}
    elif isinstance(exc, Conflict):
        problems = {CLAIMED_FIELD[channel]: exc.message}
    else:
        problems = {"body": exc.message}
    entered = {name: form.get(name) for name in SHOWN_AGAIN[channel]}
    errors = {key or channel.value: problems}
    return _channels_page(visit, exc.status_code, errors=errors, entered=entered)


@router.get(CHANNELS.path)
def get_channels() -> Response[str]:
    return _channels_page(wiring.visit(router, CHANNELS))


@router.post(f"{CHANNELS.path}/whatsapp")
def post_whatsapp() -> Response[str]:
    from leadhub.channels.whatsapp.request_models import WhatsAppConnectRequest

    visit, form = wiring.change(router, CHANNELS)
    fields = ("wabaId", "phoneNumberId", "accessToken")
    try:
        request = validated(WhatsAppConnectRequest, {name: form.get(name) for name in fields})
        connection = whatsapp_integration.WhatsAppConnection(
            request.wabaId, request.phoneNumberId, request.accessToken
        )
        whatsapp_integration.connect_whatsapp(
            visit.principal.account_id,
            connection,
            graph=graph_api(),
            integrations=store,
            cipher=wiring.cipher,
            actor=visit.principal.key_id,
            source=visit.principal.source,
            now=utc_now(),
        )
    except (InvalidRequest, Conflict, ProviderUnavailable) as exc:
        return _refused(visit, Channel.WHATSAPP, form, exc)
    return redirect(f"{CHANNELS.path}?connected=whatsapp#whatsapp")


@router.post(f"{CHANNELS.path}/telegram")
def post_telegram() -> Response[str]:
    from leadhub.channels.telegram.request_models import TelegramConnectRequest

    visit, form = wiring.change(router, CHANNELS)
    try:
        request = validated(TelegramConnectRequest, {"telegramBotToken": form.get("telegramBotToken")})
        telegram_integration.connect_telegram(
            visit.principal.account_id,
            request.telegramBotToken,
            public_base_url=wiring.public_base_url(router),
            bot_api=telegram_bot_api(),
            integrations=store,
            cipher=wiring.cipher,
            actor=visit.principal.key_id,
            source=visit.principal.source,
            now=utc_now(),
        )
    except (InvalidRequest, Conflict, ProviderUnavailable) as exc:
        return _refused(visit, Channel.TELEGRAM, form, exc)
    return redirect(f"{CHANNELS.path}?connected=telegram#telegram")


@router.post(f"{CHANNELS.path}/email")
def post_email() -> Response[str]:
    from leadhub.channels.email.request_models import EmailConnectRequest

    visit, form = wiring.change(router, CHANNELS)
    fields = ("emailFromAddress", "emailFromName")
    try:
        request = validated(EmailConnectRequest, {name: form.get(name) for name in fields})
        email_integration.connect_email(
            visit.principal.account_id,
            request.emailFromAddress,
            request.emailFromName,
            domains=resend_domains(),
            integrations=store,
            actor=visit.principal.key_id,
            source=visit.principal.source,
            now=utc_now(),
        )
    except (InvalidRequest, Conflict, ProviderUnavailable) as exc:
        return _refused(visit, Channel.EMAIL, form, exc)
    return redirect(f"{CHANNELS.path}?connected=email#email")


@router.post(f"{CHANNELS.path}/email/verify")
def post_email_verify() -> Response[str]:
    visit, form = wiring.change(router, CHANNELS)
    try:
        email_integration.verify_email_domain(
            visit.principal.account_id,
            domains=resend_domains(),
            integrations=store,
            actor=visit.principal.key_id,
            source=visit.principal.source,
            now=utc_now(),
        )
    except (InvalidRequest, ProviderUnavailable) as exc:
        return _refused(visit, Channel.EMAIL, form, exc, key="email-verify")
    return redirect(f"{CHANNELS.path}?verification=requested#email")


def _channel(name: str) -> Channel:
    if name not in LABELS:
        raise NotFound("No such channel")
    return Channel(name)


@router.get(f"{CHANNELS.path}/<channel>/disconnect")
def get_disconnect(channel: str) -> Response[str]:
    visit = wiring.visit(router, CHANNELS)
    found = integrations.get_integration(visit.principal.account_id, _channel(channel), integrations=store)
    label = LABELS[found.channel]
    return wiring.show(
        visit, "disconnect_channel.html", f"Disconnect {label}", integration=found, label=label
    )


@router.post(f"{CHANNELS.path}/<channel>/disconnect")
def post_disconnect(channel: str) -> Response[str]:
    visit, _ = wiring.change(router, CHANNELS)
    chosen = _channel(channel)
    principal = visit.principal
    if chosen is Channel.TELEGRAM:
        telegram_integration.disconnect_telegram(
            principal.account_id,
            bot_api=telegram_bot_api(),
            integrations=store,
            cipher=wiring.cipher,
            actor=principal.key_id,
            source=principal.source,
            now=utc_now(),
        )
    else:
        integrations.disconnect(
            principal.account_id,
            chosen,
            integrations=store,
            actor=principal.key_id,
            source=principal.source,
            now=utc_now(),
        )
    return redirect(f"{CHANNELS.path}?disconnected={chosen.value}")
