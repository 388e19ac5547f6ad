"""The dashboard's reads around leads and conversations that no API route makes: searching the newest
leads, a lead's conversations, audit entries and deliveries, several leads at once, and a conversation's
latest messages. Every read is bounded (leadhub.dashboard.leads says how far each one looks)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from leadhub.accounts.adapters.dynamodb_audit import values_to_audit
from leadhub.accounts.audit import AuditEntry
from leadhub.conversations.adapters.dynamodb_conversation_items import (
    conversation_pk,
    conversations_index_pk,
    message_sk,
    values_to_conversation,
)
from leadhub.conversations.adapters.dynamodb_conversations import DynamoConversationStore
from leadhub.conversations.models import Conversation, Message
from leadhub.leads.adapters.dynamodb_leads import lead_key, values_to_lead
from leadhub.leads.models import Lead
from leadhub.outbound.adapters.dynamodb_delivery_log import values_to_delivery
from leadhub.outbound.models import Delivery
from leadhub.platform.adapters.dynamodb_batch_get import batch_get
from leadhub.platform.adapters.dynamodb_items import account_pk, from_item
from leadhub.platform.adapters.dynamodb_pages import scan_page
from leadhub.platform.adapters.dynamodb_queries import TableAdapter
from leadhub.platform.ids import encode_cursor
from leadhub.platform.paging import BoundedPage, Page

T = TypeVar("T")


def _converted(page: BoundedPage[dict[str, Any]], convert: Callable[[dict[str, Any]], T]) -> BoundedPage[T]:
    return BoundedPage([convert(v) for v in page.items], page.next_cursor, page.read, page.complete)


class DynamoLeadActivity(TableAdapter):
    def search_leads(
        self, account_id: str, keep: Callable[[Lead], bool], limit: int, bound: int, cursor: str | None
    ) -> BoundedPage[Lead]:
        """The leads `keep` accepts, newest first, among at most `bound` read from `cursor` on."""
        page = scan_page(
            self._db,
            self._table,
            partition=("gsi1pk", f"{account_pk(account_id)}#LEADS"),
            index="gsi1",
            keep=lambda values: keep(values_to_lead(values)),
            limit=limit,
            bound=bound,
            cursor=cursor,
            chunk=250,  # fewer round trips; a page of matches seldom needs fewer
        )
        return _converted(page, values_to_lead)

    def leads_by_id(self, account_id: str, lead_ids: Sequence[str]) -> dict[str, Lead]:
        """The account's leads among `lead_ids` (one request per 100), by id; unknown ids are absent."""
        keys = [lead_key(account_id, lead_id) for lead_id in dict.fromkeys(lead_ids)]
        items = batch_get(self._db, self._table, keys, "read leads", consistent=False)
        leads = [values_to_lead(from_item(item)) for item in items]
        return {lead.lead_id: lead for lead in leads}

    def lead_conversations(
        self, account_id: str, lead_id: str, since: str, limit: int, bound: int
    ) -> BoundedPage[Conversation]:
        """The lead's conversations active at or after `since`, among the account's `bound` most recently
        active ones."""
        page = scan_page(
            self._db,
            self._table,
            partition=("gsi1pk", conversations_index_pk(account_id)),
            index="gsi1",
            sort_from=("gsi1sk", since),
            keep=lambda values: values.get("leadId") == lead_id,
            limit=limit,
            bound=bound,
            cursor=None,
        )
        return _converted(page, values_to_conversation)

    def lead_audit(self, account_id: str, lead_id: str, limit: int, bound: int) -> BoundedPage[AuditEntry]:
        """Audit entries naming the lead among the account's `bound` newest."""
        page = scan_page(
            self._db,
            self._table,
            partition=("pk", account_pk(account_id)),
            sort_prefix=("sk", "AUDIT#"),
            keep=lambda values: (values.get("target") or {}).get("leadId") == lead_id,
            limit=limit,
            bound=bound,
            cursor=None,
            chunk=bound,
        )
        return _converted(page, values_to_audit)

    def lead_deliveries(
        self,
        account_id: str,
        endpoint_ids: Sequence[str],
        lead_id: str,
        since: str,
        limit: int,
        bound: int,
    ) -> list[BoundedPage[Delivery]]:
        """Per endpoint, deliveries of events about the lead (their envelope's `data.leadId`) created at or
        after `since`, among the endpoint's `bound` newest deliveries."""

        def about_the_lead(values: dict[str, Any]) -> bool:
            data = (values.get("envelope") or {}).get("data") or {}
            return values.get("accountId") == account_id and data.get("leadId") == lead_id

        pages = []
        for endpoint_id in endpoint_ids:
            page = scan_page(
                self._db,
                self._table,
                partition=("gsi1pk", f"ENDPOINT#{endpoint_id}"),
                index="gsi1",
                sort_from=("gsi1sk", since),
                keep=about_the_lead,
                limit=limit,
                bound=bound,
                cursor=None,
            )
            pages.append(_converted(page, values_to_delivery))
        return pages

    def latest_messages(
        self, account_id: str, conversation_id: str, limit: int, cursor: str | None
    ) -> Page[Message]:
        """Newest first (the API lists them oldest first): a thread opens at its end."""
        return DynamoConversationStore(self._table, self._clients).latest_messages(
            account_id, conversation_id, limit, cursor
        )

    def cursor_after(self, message: Message) -> str:
        return encode_cursor(
            {"pk": conversation_pk(message.account_id, message.conversation_id), "sk": message_sk(message)}
        )
