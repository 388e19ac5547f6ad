"""Every channel's sender behind one ChannelSenders, wired as the conversation worker wires them."""

from __future__ import annotations

from leadhub.channels.credentials import IntegrationCredentials
from leadhub.channels.email.adapters.email_sender import EmailSender
from leadhub.channels.email.adapters.resend_api import ResendApi
from leadhub.channels.ports import IntegrationStore
from leadhub.channels.senders import ChannelSenders
from leadhub.channels.telegram.adapters.bot_api import TelegramBotApi
from leadhub.channels.telegram.adapters.telegram_sender import TelegramSender
from leadhub.channels.web.adapters.web_sender import WebSender
from leadhub.channels.whatsapp.adapters.graph_api import GraphApi
from leadhub.channels.whatsapp.adapters.whatsapp_sender import WhatsAppSender
from leadhub.conversations.models import Channel
from leadhub.platform.ports import SecretCipher


def all_channel_senders(
    *,
    integrations: IntegrationStore,
    cipher: SecretCipher,
    graph: GraphApi,
    telegram: TelegramBotApi,
    resend: ResendApi,
    receiving_domain: str,
) -> ChannelSenders:
    credentials = IntegrationCredentials(integrations, cipher)
    return ChannelSenders(
        {
            Channel.WHATSAPP: WhatsAppSender(graph, credentials),
            Channel.TELEGRAM: TelegramSender(telegram, credentials),
            Channel.EMAIL: EmailSender(resend, credentials, receiving_domain),
            Channel.WEB: WebSender(),
        }
    )
