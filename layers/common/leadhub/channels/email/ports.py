"""The email channel's ports: Resend's domains (connecting a domain) and received emails (their content)."""

from __future__ import annotations

from typing import Any, Protocol


class ResendDomains(Protocol):
    def create_domain(self, name: str) -> dict[str, Any]:
        """Registered for sending and receiving: Resend's domain with its DNS records."""

    def find_domain(self, name: str) -> dict[str, Any] | None: ...

    def enable_sending_and_receiving(self, domain_id: str) -> None: ...

    def verify_domain(self, domain_id: str) -> None:
        """Asks Resend to check the records (asynchronously)."""

    def get_domain(self, domain_id: str) -> dict[str, Any]: ...


class ReceivedEmails(Protocol):
    def get(self, email_id: str) -> dict[str, Any] | None:
        """Resend's received email (text, html, headers …), or None when Resend does not know it."""
