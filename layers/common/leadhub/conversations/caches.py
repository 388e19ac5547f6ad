"""What a warm environment reuses for a while: routes (webhooks), and an account's automations and
responder settings (the conversation worker)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from leadhub.platform.ttl_cache import TtlCache

if TYPE_CHECKING:  # annotations only: a webhook imports this module for its routes alone
    from leadhub.accounts.audit import AuditEntry
    from leadhub.conversations.automation_rules import Automation
    from leadhub.conversations.models import Channel
    from leadhub.conversations.ports import AutomationStore, ChannelRoute, ChannelRoutes, ResponderStore
    from leadhub.conversations.responder_settings import ResponderSettings


class CachedRoutes:
    """Route lookups (hits and misses) reused for `ttl_seconds`."""

    def __init__(self, inner: ChannelRoutes, ttl_seconds: float) -> None:
        self._inner = inner
        self._cache: TtlCache[tuple[Channel, str], ChannelRoute | None] = TtlCache(ttl_seconds)

    def find_route(self, channel: Channel, key: str) -> ChannelRoute | None:
        return self._cache.get_or_load((channel, key), lambda k: self._inner.find_route(*k))


class CachedAutomations:
    """An account's automations reused for `ttl_seconds`; changes go to the store."""

    def __init__(self, inner: AutomationStore, ttl_seconds: float) -> None:
        self._inner = inner
        self._cache: TtlCache[str, list[Automation]] = TtlCache(ttl_seconds)

    def list_for_account(self, account_id: str) -> list[Automation]:
        return self._cache.get_or_load(account_id, self._inner.list_for_account)

    def insert(self, automation: Automation, audit: AuditEntry) -> None:
        self._inner.insert(automation, audit)

    def replace(self, automation: Automation, audit: AuditEntry) -> bool:
        return self._inner.replace(automation, audit)

    def delete(self, account_id: str, automation_id: str, audit: AuditEntry) -> bool:
        return self._inner.delete(account_id, automation_id, audit)

    def save_order(self, account_id: str, automation_ids: list[str], audit: AuditEntry) -> None:
        self._inner.save_order(account_id, automation_ids, audit)


class CachedResponderSettings:
    """An account's responder settings reused for `ttl_seconds`; changes go to the store."""

    def __init__(self, inner: ResponderStore, ttl_seconds: float) -> None:
        self._inner = inner
        self._cache: TtlCache[str, ResponderSettings] = TtlCache(ttl_seconds)

    def get(self, account_id: str) -> ResponderSettings:
        return self._cache.get_or_load(account_id, self._inner.get)

    def save(self, settings: ResponderSettings, audit: AuditEntry) -> None:
        self._inner.save(settings, audit)
