"""A messaging channel connected to an account, and the provider credential it uses (encrypted)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from leadhub.conversations.models import Channel


@dataclass(frozen=True, slots=True)
class Integration:
    account_id: str
    channel: Channel
    # What routes the provider's webhooks to this account: the WhatsApp phone number id, or the hash of
    # the Telegram secret token.
    route_key: str
    connected_at: str
    credential: bytes  # the provider credential (access token, bot token), encrypted with KMS
    settings: Mapping[str, str] = field(default_factory=dict)  # shown to the account (never the credential)
    # What one account at a time may connect when the route key cannot say it (the Telegram bot's id:
    # its route is the hash of a secret we generate per connect). None: the route key is the claim.
    claim_key: str | None = None

    def to_public(self) -> dict[str, Any]:
        return {"channel": self.channel.value, **self.settings, "connectedAt": self.connected_at}


def credential_context(account_id: str, channel: Channel) -> dict[str, str]:
    """KMS encryption context: a credential decrypts only for its own account and channel."""
    return {"accountId": account_id, "purpose": f"{channel.value}-credential"}
