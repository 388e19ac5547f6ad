"""Connecting an account's email: its sending address's domain is registered with Resend (which answers
with the DNS records to add), mail to that domain is routed to the account, and `verify` asks Resend to
check the records."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from leadhub.domain.integrations import IntegrationStore, get_integration
from leadhub.errors import Conflict, FieldError, InvalidRequest
from leadhub.models.audit import AuditEntry
from leadhub.models.conversation import Channel
from leadhub.models.integration import Integration
from leadhub.timestamps import to_iso


class ResendRefused(Exception):
    """Resend refused a request; the message is Resend's own."""


class ResendDomains(Protocol):
    def create_domain(self, name: str) -> dict[str, Any]: ...

    def find_domain(self, name: str) -> dict[str, Any] | None: ...

    def verify_domain(self, domain_id: str) -> None: ...

    def get_domain(self, domain_id: str) -> dict[str, Any]: ...


def connect_email(
    account_id: str,
    from_address: str,
    from_name: str,
    *,
    domains: ResendDomains,
    integrations: IntegrationStore,
    actor: str,
    now: datetime,
) -> tuple[Integration, list[dict[str, Any]]]:
    """The integration and the DNS records to add for its domain."""
    domain = from_address.rpartition("@")[2].lower()
    previous = integrations.get(account_id, Channel.EMAIL)
    if previous is not None and previous.route_key == domain:
        resend_domain = domains.get_domain(previous.settings["domainId"])
    else:
        try:
            resend_domain = domains.create_domain(domain)
        except ResendRefused as exc:
            # Registered already (a connect whose save failed, or another account's domain, which the
            # save below refuses): use it rather than leave the account unable to connect it.
            known = domains.find_domain(domain)
            if known is None:
                raise InvalidRequest(
                    "Resend refused the domain", [FieldError("emailFromAddress", f"Resend: {exc}")]
                ) from None
            resend_domain = domains.get_domain(str(known["id"]))
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
            "domainStatus": str(resend_domain.get("status", "not_started")),
        },
    )
    audit = AuditEntry(
        account_id, "integration.connected", "api", at, actor=actor, target={"channel": "email"}
    )
    if not integrations.save(integration, previous, audit):
        raise Conflict("This email domain is connected to another account")
    return integration, _records(resend_domain)


def verify_email_domain(
    account_id: str, *, domains: ResendDomains, integrations: IntegrationStore, actor: str, now: datetime
) -> tuple[Integration, list[dict[str, Any]]]:
    found = get_integration(account_id, Channel.EMAIL, integrations=integrations)
    domain_id = found.settings["domainId"]
    try:
        domains.verify_domain(domain_id)
        resend_domain = domains.get_domain(domain_id)
    except ResendRefused as exc:
        raise InvalidRequest(
            "Resend refused the verification", [FieldError("domain", f"Resend: {exc}")]
        ) from None
    status = str(resend_domain.get("status", found.settings.get("domainStatus", "")))
    updated = replace(found, settings={**found.settings, "domainStatus": status})
    audit = AuditEntry(
        account_id, "integration.verified", "api", to_iso(now), actor=actor, target={"channel": "email"}
    )
    integrations.save(updated, found, audit)
    return updated, _records(resend_domain)


def _records(resend_domain: dict[str, Any]) -> list[dict[str, Any]]:
    records = resend_domain.get("records")
    keys = ("record", "name", "type", "value", "priority", "ttl", "status")
    return (
        [{k: r[k] for k in keys if k in r} for r in records if isinstance(r, dict)]
        if isinstance(records, list)
        else []
    )
