"""A connected channel's integration and its decrypted provider credential, as the senders need them."""

from __future__ import annotations

from leadhub.channels.models import Integration, credential_context
from leadhub.channels.ports import IntegrationStore
from leadhub.conversations.models import Channel, Conversation
from leadhub.conversations.replies import SendRejected
from leadhub.platform.ports import SecretCipher
from leadhub.platform.ttl_cache import TtlCache

CREDENTIAL_CACHE_SECONDS = 60


class IntegrationCredentials:
    def __init__(self, integrations: IntegrationStore, cipher: SecretCipher) -> None:
        self._integrations = integrations
        self._cipher = cipher
        self._credentials: TtlCache[tuple[str, Channel], tuple[Integration, str]] = TtlCache(
            CREDENTIAL_CACHE_SECONDS
        )

    def integration(self, conversation: Conversation) -> Integration:
        found = self._integrations.get(conversation.account_id, conversation.channel)
        if found is None:
            raise SendRejected(f"No {conversation.channel.value} integration is connected", permanent=True)
        return found

    def credential(self, conversation: Conversation) -> tuple[Integration, str]:
        """The integration and its decrypted credential, reused for a minute by a warm worker."""

        def load(key: tuple[str, Channel]) -> tuple[Integration, str]:
            integration = self.integration(conversation)
            context = credential_context(conversation.account_id, conversation.channel)
            return integration, self._cipher.decrypt(integration.credential, context)

        return self._credentials.get_or_load((conversation.account_id, conversation.channel), load)
