"""What the dashboard's domain code depends on (adapters: leadhub.dashboard.adapters.dynamodb_dashboard)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from leadhub.leads.ports import LeadRepository

if TYPE_CHECKING:
    from leadhub.accounts.audit import AuditEntry
    from leadhub.accounts.models import Account
    from leadhub.conversations.models import Conversation, Message
    from leadhub.dashboard.models import Session, SignInLink
    from leadhub.leads.models import Lead
    from leadhub.outbound.models import Delivery
    from leadhub.platform.paging import BoundedCount, BoundedPage, Page


class SessionStore(Protocol):
    def create(self, session: Session, audit: AuditEntry) -> None:
        """Store a new session and its sign-in audit entry together."""

    def get(self, session_hash: str) -> Session | None: ...

    def touch(self, session: Session, at: str) -> bool:
        """Record activity at `at` (pushing the idle expiry); False when the session is gone, or when the API
        key it was made with has been revoked."""

    def end(self, session: Session, audit: AuditEntry) -> bool:
        """Delete the session with its sign-out audit entry; False when it was gone already."""


class SignInLinks(Protocol):
    def add(self, link: SignInLink, audit: Sequence[AuditEntry]) -> None: ...

    def get(self, link_hash: str) -> SignInLink | None: ...

    def consume(self, link: SignInLink, session: Session, audit: AuditEntry, at: str) -> bool:
        """Mark the link used and store the session it opens, atomically, unless the link was used or
        expired meanwhile (False)."""


class FailedSignIns(Protocol):
    def count(self, source: str, window: int) -> int:
        """Failed sign-ins from `source` (a hash) in the window starting at `window` (Unix seconds)."""

    def add(self, source: str, window: int, expires_at: int) -> None: ...


class LeadCounts(LeadRepository, Protocol):
    def capture_times_since(self, account_id: str, since: str, bound: int) -> Page[str]:
        """Capture times (ISO-8601) of the leads captured at or after `since`, newest first, at most
        `bound`; `next_cursor` is set when there are more."""


class ConversationCounts(Protocol):
    def count_open(self, account_id: str, bound: int) -> BoundedCount: ...


class DeliveryCounts(Protocol):
    def count_failed_since(
        self, account_id: str, endpoint_ids: Sequence[str], created_since: str, failed_since: str, bound: int
    ) -> BoundedCount: ...


class ManagedAccounts(Protocol):
    def list_managed_accounts(self, parent_account_id: str, limit: int) -> Page[Account]:
        """The accounts an agency manages, by id, at most `limit`."""


class LeadActivity(Protocol):
    """Bounded reads for the leads and inbox pages (adapter: dashboard/adapters/dynamodb_lead_activity)."""

    def search_leads(
        self, account_id: str, keep: Callable[[Lead], bool], limit: int, bound: int, cursor: str | None
    ) -> BoundedPage[Lead]: ...

    def leads_by_id(self, account_id: str, lead_ids: Sequence[str]) -> dict[str, Lead]: ...

    def lead_conversations(
        self, account_id: str, lead_id: str, since: str, limit: int, bound: int
    ) -> BoundedPage[Conversation]:
        """Active at or after `since`."""

    def lead_audit(
        self, account_id: str, lead_id: str, limit: int, bound: int
    ) -> BoundedPage[AuditEntry]: ...

    def lead_deliveries(
        self,
        account_id: str,
        endpoint_ids: Sequence[str],
        lead_id: str,
        since: str,
        limit: int,
        bound: int,
    ) -> list[BoundedPage[Delivery]]:
        """Created at or after `since`."""

    def latest_messages(
        self, account_id: str, conversation_id: str, limit: int, cursor: str | None
    ) -> Page[Message]:
        """Newest first."""

    def cursor_after(self, message: Message) -> str:
        """The cursor of `latest_messages` that continues with the messages before `message`."""
