"""Channel integrations."""

from __future__ import annotations

from pydantic import ConfigDict

# Request bodies shared with the dashboard's forms.
from leadhub.channels.email.request_models import EmailConnectRequest as EmailConnectRequest
from leadhub.channels.telegram.request_models import TelegramConnectRequest as TelegramConnectRequest
from leadhub.channels.whatsapp.request_models import WhatsAppConnectRequest as WhatsAppConnectRequest
from schemas import Schema


class IntegrationOut(Schema):
    """A connected channel; provider credentials are never shown."""

    model_config = ConfigDict(extra="allow")
    channel: str
    connectedAt: str
    webhookUrl: str
