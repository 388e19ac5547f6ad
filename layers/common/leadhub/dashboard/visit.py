"""One signed-in request: its session, the CSRF token its forms carry, and what the layout shows."""

from __future__ import annotations

from dataclasses import dataclass

from leadhub.accounts.models import Principal
from leadhub.dashboard.models import Session
from leadhub.dashboard.navigation import Section, visible_sections
from leadhub.dashboard.sessions import require_scope


@dataclass(frozen=True, slots=True)
class Visit:
    session: Session
    csrf_token: str
    section: Section

    @property
    def principal(self) -> Principal:
        return self.session.principal()

    def allows(self, scope: str) -> bool:
        return scope in self.session.scopes

    def require(self, scope: str) -> None:
        require_scope(self.session, scope)

    @property
    def navigation(self) -> list[Section]:
        return visible_sections(self.session.scopes)
