"""The channels page: each channel as the account has connected it (email: its domain's DNS records and
their state as Resend has them now; the website widget: on or off), and the URL to enter at each provider
that needs one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadhub.channels.email.integration import show_email_integration
from leadhub.channels.email.ports import ResendDomains
from leadhub.channels.integrations import WEBHOOK_PATHS
from leadhub.channels.models import Integration
from leadhub.channels.ports import IntegrationStore
from leadhub.channels.web.ports import WidgetStore
from leadhub.channels.web.widget import Widget
from leadhub.conversations.models import Channel
from leadhub.platform.errors import NotFound

# Resend's record and domain states still being checked: the page asks again while one is.
CHECKING = frozenset({"pending"})
# The field a "connected to another account" refusal (409) concerns, per channel: what identifies it.
CLAIMED_FIELD = {
    Channel.WHATSAPP: "phoneNumberId",
    Channel.TELEGRAM: "telegramBotToken",
    Channel.EMAIL: "emailFromAddress",
}


@dataclass(frozen=True, slots=True)
class EmailDomain:
    """The connected email's domain as Resend reported it (now, or at `checked_at` when it could not
    answer: `refresh_error` says why)."""

    integration: Integration
    status: str
    receiving: str
    checked_at: str | None
    records: list[dict[str, Any]] = field(default_factory=list)
    refresh_error: str | None = None

    @property
    def checking(self) -> bool:
        return self.status in CHECKING or any(r.get("status") in CHECKING for r in self.records)

    @property
    def verification_requested_at(self) -> str | None:
        return self.integration.settings.get("verificationRequestedAt")


@dataclass(frozen=True, slots=True)
class ChannelsView:
    whatsapp: Integration | None
    telegram: Integration | None
    email: EmailDomain | None
    meta_webhook_url: str  # entered in Meta's app dashboard with the deployment's verify token
    widget: Widget | None = None  # None until its settings are first saved


def channels_view(
    account_id: str,
    base_url: str,
    *,
    integrations: IntegrationStore,
    domains: ResendDomains,
    widgets: WidgetStore,
    now: datetime,
) -> ChannelsView:
    return ChannelsView(
        whatsapp=integrations.get(account_id, Channel.WHATSAPP),
        telegram=integrations.get(account_id, Channel.TELEGRAM),
        email=email_domain(account_id, integrations=integrations, domains=domains, now=now),
        meta_webhook_url=base_url + WEBHOOK_PATHS[Channel.WHATSAPP],
        widget=widgets.get(account_id),
    )


def email_domain(
    account_id: str, *, integrations: IntegrationStore, domains: ResendDomains, now: datetime
) -> EmailDomain | None:
    """What the API's GET /api/integrations/email shows; None when email is not connected."""
    try:
        integration, observed = show_email_integration(
            account_id, domains=domains, integrations=integrations, now=now
        )
    except NotFound:
        return None
    state = {**integration.settings, **observed}
    return EmailDomain(
        integration=integration,
        status=str(state.get("domainStatus") or "not_started"),
        receiving=str(state.get("receiving") or "disabled"),
        checked_at=state.get("domainStatusCheckedAt"),
        records=list(observed.get("dnsRecords", [])),
        refresh_error=observed.get("domainStatusRefreshError"),
    )
