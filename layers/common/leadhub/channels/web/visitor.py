"""A website visitor: anonymous (known by the id in their signed visitor token) until they leave contact
details, when they are attached to a lead. Their open conversation is remembered here, as a lead's is."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Visitor:
    account_id: str
    visitor_id: str
    created_at: str
    conversation_id: str | None = None  # the conversation their next message joins (if still open)
    lead_id: str | None = None  # once they left contact details
    captured_at: str | None = None
    messages_sent: int = 0
    version: int = 1

    @property
    def party_id(self) -> str:
        """What a conversation names as its lead: the lead once known, the visitor id before."""
        return self.lead_id or self.visitor_id
