"""Connecting an account's email: its sending address's domain is registered with Resend for sending and
receiving (Resend answers with the DNS records to add, the receiving MX record among them), mail to that
domain is routed to the account, and `verify` asks Resend to check the records.

Resend checks them asynchronously: right after `verify` the domain is usually `pending`. What Leadhub
reports is what Resend said, when it said it; showing the integration asks Resend again."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from leadhub.accounts.audit import AuditEntry
from leadhub.channels.email.ports import ResendDomains
from leadhub.channels.integrations import get_integration
from leadhub.channels.models import Integration
from leadhub.channels.ports import IntegrationStore
from leadhub.conversations.models import Channel
from leadhub.platform.errors import Conflict, FieldError, InvalidRequest, ProviderUnavailable
from leadhub.platform.timestamps import to_iso


class ResendRefused(Exception):
    """Resend refused a request for good; the message is Resend's own."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def connect_email(
    account_id: str,
    from_address: str,
    from_name: str,
    *,
    domains: ResendDomains,
    integrations: IntegrationStore,
    actor: str,
    now: datetime,
    source: str = "api",
) -> tuple[Integration, list[dict[str, Any]]]:
    """The integration and the DNS records to add for its domain."""
    domain = from_address.rpartition("@")[2].lower()
    previous = integrations.get(account_id, Channel.EMAIL)
    try:
        resend_domain = None
        if previous is not None and previous.route_key == domain:
            resend_domain = _known_domain(previous.settings["domainId"], domains)
        if resend_domain is None:
            resend_domain = _registered_domain(domain, domains)
        resend_domain = _with_sending_and_receiving(resend_domain, domains)
    except ResendRefused as exc:
        raise InvalidRequest(
            "Resend refused the domain", [FieldError("emailFromAddress", f"Resend: {exc}")]
        ) from None
    at = to_iso(now)
    integration = Integration(
        account_id=account_id,
        channel=Channel.EMAIL,
        route_key=domain,
        connected_at=at,
        credential=b"",  # Resend's API key belongs to the deployment, not the account
        settings={
            "emailFromAddress": from_address,
            "emailFromName": from_name,
            "domain": domain,
            "domainId": str(resend_domain.get("id", "")),
            **_observed(resend_domain, at),
        },
    )
    audit = AuditEntry(
        account_id, "integration.connected", source, at, actor=actor, target={"channel": "email"}
    )
    if not integrations.save(integration, previous, audit):
        raise Conflict("This email domain is connected to another account")
    return integration, dns_records(resend_domain)


def verify_email_domain(
    account_id: str,
    *,
    domains: ResendDomains,
    integrations: IntegrationStore,
    actor: str,
    now: datetime,
    source: str = "api",
) -> tuple[Integration, list[dict[str, Any]]]:
    """Asks Resend to check the records and reports the state Resend gives right after: usually
    `pending`, with each record's own status."""
    found = get_integration(account_id, Channel.EMAIL, integrations=integrations)
    domain_id = found.settings["domainId"]
    try:
        domains.verify_domain(domain_id)
        resend_domain = domains.get_domain(domain_id)
        if not _sends_and_receives(resend_domain):  # connected before Leadhub asked Resend for receiving
            domains.enable_sending_and_receiving(domain_id)
            domains.verify_domain(domain_id)  # the receiving record is new: have it checked too
            resend_domain = domains.get_domain(domain_id)
    except ResendRefused as exc:
        raise InvalidRequest(
            "Resend refused the verification", [FieldError("domain", f"Resend: {exc}")]
        ) from None
    at = to_iso(now)
    settings = {**found.settings, **_observed(resend_domain, at), "verificationRequestedAt": at}
    updated = replace(found, settings=settings)
    audit = AuditEntry(
        account_id,
        "integration.verification_requested",
        source,
        at,
        actor=actor,
        target={"channel": "email"},
    )
    integrations.save(updated, found, audit)
    return updated, dns_records(resend_domain)


def show_email_integration(
    account_id: str, *, domains: ResendDomains, integrations: IntegrationStore, now: datetime
) -> tuple[Integration, dict[str, Any]]:
    """The integration and what Resend says of its domain now (status, capabilities, DNS records). When
    Resend cannot answer, the stored state (as of `domainStatusCheckedAt`) and why it was not refreshed."""
    found = get_integration(account_id, Channel.EMAIL, integrations=integrations)
    try:
        resend_domain = domains.get_domain(found.settings["domainId"])
    except (ResendRefused, ProviderUnavailable) as exc:
        return found, {"domainStatusRefreshError": f"Resend: {exc}"}
    return found, {**_observed(resend_domain, to_iso(now)), "dnsRecords": dns_records(resend_domain)}


def _known_domain(domain_id: str, domains: ResendDomains) -> dict[str, Any] | None:
    """The domain connected before, or None when Resend no longer has it (deleted there)."""
    try:
        return domains.get_domain(domain_id)
    except ResendRefused as exc:
        if exc.status == 404:
            return None
        raise


def _registered_domain(name: str, domains: ResendDomains) -> dict[str, Any]:
    try:
        return domains.create_domain(name)
    except ResendRefused:
        # Registered already (a connect whose save failed, another account's domain, which the save
        # refuses, or a domain registered at Resend by hand): use it rather than leave the account
        # unable to connect it. Any other refusal is Resend's to explain.
        known = domains.find_domain(name)
        if known is None:
            raise
        return domains.get_domain(str(known["id"]))


def _with_sending_and_receiving(resend_domain: dict[str, Any], domains: ResendDomains) -> dict[str, Any]:
    """The domain as Resend has it once both capabilities are on (receiving adds its MX record)."""
    if _sends_and_receives(resend_domain):
        return resend_domain
    domain_id = str(resend_domain.get("id", ""))
    domains.enable_sending_and_receiving(domain_id)
    return domains.get_domain(domain_id)


def _sends_and_receives(resend_domain: dict[str, Any]) -> bool:
    capabilities = resend_domain.get("capabilities")
    return (
        isinstance(capabilities, dict)
        and capabilities.get("sending") == "enabled"
        and capabilities.get("receiving") == "enabled"
    )


def _observed(resend_domain: dict[str, Any], at: str) -> dict[str, str]:
    """What Resend said of the domain, and when."""
    capabilities = resend_domain.get("capabilities")
    receiving = capabilities.get("receiving") if isinstance(capabilities, dict) else None
    return {
        "domainStatus": str(resend_domain.get("status") or "not_started"),
        "receiving": str(receiving or "disabled"),
        "domainStatusCheckedAt": at,
    }


def dns_records(resend_domain: dict[str, Any]) -> list[dict[str, Any]]:
    """The records to add at the DNS host, each with Resend's status of it."""
    records = resend_domain.get("records")
    keys = ("record", "name", "type", "value", "priority", "ttl", "status")
    return (
        [{k: r[k] for k in keys if k in r} for r in records if isinstance(r, dict)]
        if isinstance(records, list)
        else []
    )
