"""The dashboard's sections: the navigation, and the scope each section's pages need (one table).

A page names its section (`visit(router, AUDIT)`): a session without the section's scope neither sees it
in the navigation nor opens it (403)."""

from __future__ import annotations

from dataclasses import dataclass

from leadhub.accounts.models import Scope


@dataclass(frozen=True, slots=True)
class Section:
    path: str
    label: str
    scope: Scope | None  # None: every session

    def contains(self, path: str) -> bool:
        return path == self.path or (self.path != "/" and path.startswith(self.path + "/"))


OVERVIEW = Section("/", "Overview", None)
LEADS = Section("/leads", "Leads", Scope.LEADS_READ)
INBOX = Section("/inbox", "Inbox", Scope.CONVERSATIONS_MANAGE)
CHANNELS = Section("/channels", "Channels", Scope.INTEGRATIONS_MANAGE)
AUTOMATIONS = Section("/automations", "Automations", Scope.CONVERSATIONS_MANAGE)
WEBHOOKS = Section("/webhooks", "Webhooks", Scope.WEBHOOKS_MANAGE)
API_KEYS = Section("/settings/api-keys", "API keys", Scope.ACCOUNT_MANAGE)
AUDIT = Section("/audit", "Audit log", Scope.ACCOUNT_VIEW)

SECTIONS = (OVERVIEW, LEADS, INBOX, CHANNELS, AUTOMATIONS, WEBHOOKS, API_KEYS, AUDIT)


def visible_sections(scopes: frozenset[str]) -> list[Section]:
    return [s for s in SECTIONS if s.scope is None or s.scope in scopes]
