"""The leads and inbox pages without a server: searching (what matches, a phone read directly, the bound),
the blocks a lead's page shows per scope, the thread's size budget, and the templates: what strangers
wrote is text, the worst case stays within 60 KB, and nothing is inline."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadhub.accounts.audit import AuditEntry
from leadhub.accounts.models import Principal
from leadhub.conversations.models import Channel, Conversation, ConversationStatus, Direction, Message
from leadhub.dashboard import inbox as inbox_pages
from leadhub.dashboard import leads as lead_pages
from leadhub.dashboard.assets import asset_url
from leadhub.dashboard.navigation import INBOX, LEADS
from leadhub.dashboard.rendering import render
from leadhub.leads.identity import lead_id_for_phone
from leadhub.leads.models import Lead
from leadhub.outbound.models import Delivery, DeliveryStatus
from leadhub.platform.errors import InvalidRequest
from leadhub.platform.paging import BoundedPage, Page
from tests.fakes import InMemoryConversations, InMemoryEndpoints, InMemoryLeads
from tests.unit.test_dashboard_pages import ALL, NOW, NOW_ISO, SCRIPT, visit

ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
MAX_HTML_BYTES = 60 * 1024


def lead(n: int, **fields: object) -> Lead:
    at = f"2026-11-{1 + n % 28:02d}T09:00:{n % 60:02d}.000Z"
    phone = f"+1415555{n:04d}"
    return Lead("acc_1", lead_id_for_phone("acc_1", phone), at, at, at, phone=phone, **fields)  # type: ignore[arg-type]


def message(
    n: int, text: str | None = "Hi", direction: Direction = Direction.INBOUND, **fields: object
) -> Message:
    at = f"2026-11-23T09:{n // 60:02d}:{n % 60:02d}.000Z"
    return Message(
        "acc_1", "conv_1", f"msg_{n:04d}", "lead_1", Channel.TELEGRAM, direction, "text", at, at,
        fields.pop("status", "received"), f"p{n}", text, **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def conversation(**fields: object) -> Conversation:
    base = Conversation(
        "acc_1", "conv_1", "lead_1", Channel.TELEGRAM, ConversationStatus.OPEN, NOW_ISO, NOW_ISO
    )
    return replace(base, **fields)  # type: ignore[arg-type]


class FakeActivity:
    """LeadActivity over lists: what the search read, and fixed answers for a lead's page."""

    def __init__(self, leads: Sequence[Lead] = (), messages: Sequence[Message] = ()) -> None:
        self.leads = sorted(leads, key=lambda lead: lead.captured_at, reverse=True)
        self.messages = sorted(messages, key=lambda m: m.sent_at, reverse=True)
        self.reads: list[str] = []

    def search_leads(
        self, account_id: str, keep: Callable[[Lead], bool], limit: int, bound: int, cursor: str | None
    ) -> BoundedPage[Lead]:
        start = int(cursor or 0)
        batch = self.leads[start : start + bound]
        kept = [lead for lead in batch if keep(lead)][:limit]
        more = start + bound < len(self.leads)
        return BoundedPage(kept, str(start + bound) if more else None, len(batch), complete=not more)

    def leads_by_id(self, account_id: str, lead_ids: Sequence[str]) -> dict[str, Lead]:
        return {lead.lead_id: lead for lead in self.leads if lead.lead_id in lead_ids}

    def lead_conversations(
        self, account_id: str, lead_id: str, since: str, limit: int, bound: int
    ) -> BoundedPage:
        self.reads.append("conversations")
        return BoundedPage([conversation(lead_id=lead_id)], None, 1)

    def lead_audit(self, account_id: str, lead_id: str, limit: int, bound: int) -> BoundedPage:
        self.reads.append("audit")
        entry = AuditEntry("acc_1", "lead.created", "webhook", NOW_ISO, None, {"leadId": lead_id})
        return BoundedPage([entry], None, 1)

    def lead_deliveries(
        self, account_id: str, endpoint_ids: Sequence[str], lead_id: str, since: str, limit: int, bound: int
    ) -> list[BoundedPage[Delivery]]:
        self.reads.append("deliveries")
        return []

    def latest_messages(self, account_id: str, conversation_id: str, limit: int, cursor: str | None) -> Page:
        start = int(cursor or 0)
        page = self.messages[start : start + limit]
        more = start + limit < len(self.messages)
        return Page(page, str(start + limit) if more else None)

    def cursor_after(self, message: Message) -> str:
        return str(self.messages.index(message) + 1)


# -- searching ------------------------------------------------------------------------------------


@given(st.text(min_size=1, max_size=30), st.data())
def test_any_part_of_a_name_finds_the_lead_whatever_its_case(name: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(name) - 1))
    part = name[start : data.draw(st.integers(start + 1, len(name)))]
    assert (
        lead_pages.matches(lead(1, name=name), part.upper()) or part.upper().casefold() not in name.casefold()
    )
    assert lead_pages.matches(lead(1, name=name), part)


@given(st.text(max_size=40))
def test_any_query_is_read_as_a_phone_number_or_not_without_failing(query: str) -> None:
    phone = lead_pages.phone_in(query, "US")
    assert phone is None or re.fullmatch(r"\+\d{8,15}", phone)


def test_what_a_query_matches() -> None:
    ada = lead(5, name="Ada Lovelace", email="Ada@Example.com", usernames={"telegram": "countess"})
    assert lead_pages.matches(ada, "lovelace") and lead_pages.matches(ada, "ada@example")
    assert lead_pages.matches(ada, "countess") and lead_pages.matches(ada, "(415) 555-00")
    assert not lead_pages.matches(ada, "41") and not lead_pages.matches(ada, "grace")
    assert not lead_pages.matches(ada, "x555")  # digits of a query that is not a phone do not count
    assert lead_pages.phone_in("(415) 555-0123", "US") == "+14155550123"
    assert lead_pages.phone_in("020 7946 0958", "GB") == "+442079460958"
    assert lead_pages.phone_in("4155", "US") is None and lead_pages.phone_in("ada", "US") is None


def find(query: str, leads: InMemoryLeads, activity: FakeActivity, cursor: str | None = None, since=None):
    return lead_pages.find_leads(
        "acc_1", query, cursor, since, default_region="US", leads=leads, activity=activity, now=NOW
    )


def test_a_whole_phone_number_finds_its_lead_beyond_the_search_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lead_pages, "SEARCH_BOUND", 3)
    everyone = [lead(n, name=f"Person {n}") for n in range(8)]
    leads, activity = InMemoryLeads(), FakeActivity(everyone)
    leads.leads = {(lead_.account_id, lead_.lead_id): lead_ for lead_ in everyone}

    by_phone = find("+1 415 555 0000", leads, activity)
    by_name = find("Person 0", leads, activity)

    assert [lead_.name for lead_ in by_phone.leads] == ["Person 0"]
    assert (by_name.leads, by_name.read, by_name.complete, by_name.next_cursor) == ([], 3, False, "3")
    assert [lead_.name for lead_ in find("Person 0", leads, activity, "6").leads] == ["Person 0"]


def test_the_newest_leads_since_today_end_at_the_first_older_one() -> None:
    today = replace(lead(1, name="Today"), captured_at="2026-11-23T08:00:00.000Z")
    earlier = replace(lead(2, name="Earlier"), captured_at="2026-11-22T23:00:00.000Z")
    leads = InMemoryLeads()
    leads.leads = {("acc_1", x.lead_id): x for x in (today, earlier)}

    found = find("", leads, FakeActivity(), since="today")
    week = find("", leads, FakeActivity(), since="7d")

    assert [x.name for x in found.leads] == ["Today"] and found.next_cursor is None
    assert [x.name for x in week.leads] == ["Today", "Earlier"]
    with pytest.raises(InvalidRequest):
        find("", leads, FakeActivity(), since="forever")
    with pytest.raises(InvalidRequest):
        find("x" * (lead_pages.MAX_QUERY + 1), leads, FakeActivity())


@pytest.mark.parametrize(
    ("scopes", "reads"),
    [
        (ALL, ["conversations", "deliveries", "audit"]),
        (frozenset({"leads:read"}), []),
        (frozenset({"leads:read", "account:view"}), ["audit"]),
    ],
)
def test_a_leads_page_reads_only_what_the_scopes_allow(scopes: frozenset[str], reads: list[str]) -> None:
    ada = lead(1, name="Ada")
    leads, activity = InMemoryLeads(), FakeActivity(messages=[message(1)])
    leads.leads = {("acc_1", ada.lead_id): ada}

    view = lead_pages.lead_view(
        Principal("acc_1", "key_1", scopes), ada.lead_id, leads=leads, activity=activity,
        endpoints=InMemoryEndpoints(),
    )  # fmt: skip

    assert activity.reads == reads
    assert (view.timeline is not None) == ("conversations" in reads)
    assert (view.audit is not None) == ("audit" in reads)


# -- the thread -----------------------------------------------------------------------------------


def test_a_thread_shows_its_end_within_the_budget_and_pages_back() -> None:
    long = [message(n, "x" * 10_000) for n in range(8)]  # emails: cut to 4,096 characters each
    store = InMemoryConversations()
    store.conversations[("acc_1", "conv_1")] = conversation()
    activity = FakeActivity(messages=long)

    latest = inbox_pages.thread("acc_1", "conv_1", None, store=store, activity=activity)
    earlier = inbox_pages.thread("acc_1", "conv_1", latest.earlier_cursor, store=store, activity=activity)

    budget = inbox_pages.TEXT_BUDGET_BYTES // (inbox_pages.SHOWN_TEXT_CHARS + 1)
    assert [m.message.message_id for m in latest.messages] == [f"msg_{n:04d}" for n in range(8 - budget, 8)]
    assert [m.message.message_id for m in earlier.messages][-1] == f"msg_{7 - budget:04d}"
    assert all(m.cut_chars == 10_000 - 4096 and len(m.text) == 4097 for m in latest.messages)


def test_a_failed_message_says_why() -> None:
    failed = message(
        1, "Hi", Direction.OUTBOUND, status="failed", errors=({"code": 131047, "title": "Re-engage"},)
    )
    ours = message(
        2, "Hi", Direction.OUTBOUND, status="failed", errors=({"reason": "Forbidden: bot was blocked"},)
    )
    assert inbox_pages.failure_reason(failed) == "Re-engage (131047)"
    assert inbox_pages.failure_reason(ours) == "Forbidden: bot was blocked"
    assert inbox_pages.failure_reason(message(3, status="delivered")) is None
    assert inbox_pages.shown_message(message(4, None)).text == "[text]"


def test_the_polled_versions_change_with_what_the_pages_show() -> None:
    thread = inbox_pages.Thread(conversation(), None, [inbox_pages.shown_message(message(1))], None)
    read = replace(thread, messages=[inbox_pages.shown_message(message(1, status="read"))])
    taken_over = replace(thread, conversation=conversation(auto_reply=False))
    assert len({thread.version, read.version, taken_over.version}) == 3
    row = inbox_pages.InboxRow(conversation(), None)
    newer = inbox_pages.InboxRow(conversation(last_activity_at="2026-11-23T10:00:00.000Z"), None)
    assert inbox_pages.Inbox([row], None, "open").version != inbox_pages.Inbox([newer], None, "open").version


# -- the templates --------------------------------------------------------------------------------


def worst_case_pages(text: str) -> dict[str, str]:
    """Every leads and inbox template with `text` wherever a stranger's words appear, and as much of it as a
    page can hold: 25 leads, a lead at every limit, 25 conversations, a thread of long emails."""
    long_text = (text * 20_000)[:20_000]
    full_lead = lead(
        1,
        name=(text * 200)[:200],
        email=("a" * 240) + "@example.com",
        tags=tuple(f"{text}{n}"[:64] for n in range(100)),
        custom_fields={f"{text}{n}"[:64]: long_text[:1000] for n in range(100)},
        usernames={"telegram": text, "whatsapp": text},
        channel_ids={"telegram": "1" * 20, "whatsapp": "US." + "1" * 20},
    )
    timeline = [
        lead_pages.TimelineEntry(message(n, long_text, Direction.OUTBOUND, status="failed"), conversation())
        for n in range(lead_pages.TIMELINE_LENGTH)
    ]
    delivery = Delivery("acc_1", "dlv_1", "ep_1", "evt_1", "lead.updated", "acc_1", NOW_ISO, NOW_ISO, {})
    failed = replace(delivery, status=DeliveryStatus.FAILED, last_error=text[:500])
    deliveries = [lead_pages.LeadDelivery(failed, text[:100]) for _ in range(lead_pages.SHOWN_DELIVERIES)]
    audit = [AuditEntry("acc_1", "lead.created", "webhook", NOW_ISO, "key_1", {})] * lead_pages.SHOWN_AUDIT
    view = lead_pages.LeadView(
        full_lead,
        BoundedPage([conversation()] * lead_pages.SHOWN_CONVERSATIONS, None, 10),
        timeline,
        deliveries,
        False,
        BoundedPage(audit, None, 10, complete=False),
    )
    leads = lead_pages.LeadList([full_lead] * 25, "cursor", text, None, 1000, complete=False)
    preview = {"direction": "inbound", "text": (text * 120)[:120]}
    rows = [inbox_pages.InboxRow(conversation(last_message=preview), full_lead) for _ in range(25)]
    store, activity = (
        InMemoryConversations(),
        FakeActivity(messages=[message(n, long_text) for n in range(50)]),
    )
    store.conversations[("acc_1", "conv_1")] = conversation(unreachable_at=NOW_ISO, unreachable_reason=text)
    thread = inbox_pages.thread("acc_1", "conv_1", None, store=store, activity=activity)
    thread = replace(thread, lead=full_lead)
    on_leads, on_inbox = {"visit": visit(section=LEADS)}, {"visit": visit(section=INBOX)}
    inbox = inbox_pages.Inbox(rows, "cursor", "open")
    errors = {"text": text}
    return {
        "leads": render(
            "leads.html", title="Leads", found=leads, errors={"q": text}, pages=lead_pages, first_page=False,
            **on_leads,
        ),
        "lead": render("lead.html", title=text, view=view, pages=lead_pages, **on_leads),
        "inbox": render("inbox.html", title="Inbox", inbox=inbox, cursor="c", poll_seconds=4, **on_inbox),
        "inbox-rows": render("inbox_rows.html", inbox=inbox),
        "conversation": render(
            "conversation.html", title=text, thread=thread, earlier=False, errors=errors,
            draft=long_text[:4096], done="sent", poll_seconds=4, **on_inbox,
        ),
        "thread": render("thread.html", thread=thread),
    }  # fmt: skip


@pytest.mark.parametrize("name", sorted(worst_case_pages("x")))
def test_what_strangers_wrote_is_shown_as_text_on_leads_and_inbox_pages(name: str) -> None:
    html = worst_case_pages(SCRIPT)[name]
    assert "<script>alert" not in html and ESCAPED in html


@pytest.mark.parametrize(("name", "html"), sorted(worst_case_pages("Zoë Ω").items()))
def test_leads_and_inbox_pages_stay_small_and_need_nothing_inline(name: str, html: str) -> None:
    assert len(html.encode()) <= MAX_HTML_BYTES
    assert len(worst_case_pages(SCRIPT)[name].encode()) <= MAX_HTML_BYTES  # escaping makes text longer
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=|javascript:", html, re.IGNORECASE)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert set(scripts) <= {(f' src="{asset_url(n)}" defer', "") for n in ("app.js", "live.js")}
    assert not re.search(r"(src|href|action)=\"(https?:)?//", html)


def test_the_thread_and_the_inbox_poll_with_an_announcement_region() -> None:
    pages = worst_case_pages("x")
    for name in ("inbox", "conversation"):
        assert re.search(r'role="status" aria-live="polite"', pages[name]), name
        assert 'data-poll="/inbox' in pages[name] and asset_url("live.js") in pages[name]
