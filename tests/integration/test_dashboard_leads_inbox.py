"""The leads and inbox pages through the dashboard handler, on moto: listing and searching leads within
their bounds, a lead's page with its messages, deliveries and audit entries, the inbox and a thread with
its polled fragments (ETag, 304), and an agent's reply, take-over and close through the same domain
functions as the API, refused to a session without `conversations:manage`."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from types import ModuleType

import pytest

from leadhub.accounts.audit import AuditEntry
from leadhub.conversations.adapters.dynamodb_conversations import DynamoConversationStore
from leadhub.conversations.conversations import record_inbound
from leadhub.conversations.models import Channel, Contact, InboundMessage
from leadhub.dashboard import leads as lead_pages
from leadhub.dashboard.adapters.dynamodb_lead_activity import DynamoLeadActivity
from leadhub.leads.identity import lead_id_for_phone
from leadhub.outbound.adapters.dynamodb_delivery_log import DynamoDeliveryLog
from leadhub.outbound.adapters.dynamodb_endpoints import DynamoEndpointRepository
from leadhub.outbound.models import Delivery, DeliveryStatus, EndpointSecret, WebhookEndpoint
from leadhub.platform.timestamps import to_iso, utc_now
from tests.integration.conftest import Account, Api, Stack, shared_clients
from tests.integration.test_dashboard import Browser, nav_links

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def dashboard(api: Api, stack: Stack) -> ModuleType:
    return stack.load_function("DashboardFunction")


def signed_in(dashboard: ModuleType, api_key: str) -> Browser:
    browser = Browser(dashboard)
    assert browser.sign_in(api_key).status == 303
    return browser


def rows(html: str) -> list[str]:
    """The first cell's text of each row of the page's table body."""
    body = re.search(r"<tbody[^>]*>(.*?)</tbody>", html, re.S)
    assert body, html
    cells = re.findall(r"<tr[^>]*>\s*<td[^>]*>(.*?)</td>", body.group(1), re.S)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]


def link(html: str, text: str) -> str:
    found = re.search(rf'<a href="([^"]+)"[^>]*>{re.escape(text)}</a>', html)
    assert found, f"no link {text!r}"
    return found.group(1).replace("&amp;", "&")


def person_writes(stack: Stack, account: Account, user_id: int, name: str, text: str, n: int = 0) -> str:
    """A Telegram user writes (stored as the webhook stores it); the conversation id."""
    inbound = InboundMessage(
        account_id=account.account_id,
        contact=Contact(Channel.TELEGRAM, str(user_id), name=name),
        provider_message_id=f"{user_id}:{n}",
        dedupe_keys=(f"update-{user_id}-{n}",),
        sent_at=to_iso(utc_now()),
        type="text",
        text=text,
        route={"chatId": str(user_id)},
    )
    receipt = record_inbound(inbound, store=DynamoConversationStore(stack.table_name), now=utc_now())
    assert receipt.conversation_id is not None
    return receipt.conversation_id


# -- leads ----------------------------------------------------------------------------------------


def test_leads_are_listed_newest_first_a_page_at_a_time(
    dashboard: ModuleType, api: Api, account: Account
) -> None:
    for n in range(30):
        assert api.post_lead(account.webhook_token, {"name": f"Lead {n:02d}", "phone": f"+1415555{n:04d}"})
    browser = signed_in(dashboard, account.api_key)

    first = browser.request("GET", "/leads")
    older = browser.request("GET", link(first.text, "Older leads"))

    assert first.status == 200 and rows(first.text) == [f"Lead {n:02d}" for n in range(29, 4, -1)]
    assert rows(older.text) == [f"Lead {n:02d}" for n in range(4, -1, -1)]
    assert "Older leads" not in older.text and link(older.text, "Newest") == "/leads"
    assert len(first.text.encode()) <= 60 * 1024

    # A search whose matches fill a page goes on right after the last one shown.
    matched = browser.request("GET", "/leads?q=lead")
    rest = browser.request("GET", link(matched.text, "Search older leads"))
    assert rows(matched.text) == rows(first.text) and rows(rest.text) == rows(older.text)


def test_a_search_matches_names_emails_and_phones_whatever_their_case(
    dashboard: ModuleType, api: Api, account: Account
) -> None:
    api.post_lead(
        account.webhook_token, {"name": "Ada Lovelace", "phone": "+14155550100", "email": "ada@x.io"}
    )
    api.post_lead(account.webhook_token, {"name": "Grace Hopper", "phone": "+14155550199", "tags": "navy"})
    browser = signed_in(dashboard, account.api_key)

    def found(query: str) -> list[str]:
        answer = browser.request("GET", f"/leads?q={query}")
        assert answer.status == 200, answer.text
        return rows(answer.text)

    assert found("lovelace") == ["Ada Lovelace"]
    assert found("ADA%40X.IO") == ["Ada Lovelace"]
    assert found("%28415%29+555-0199") == ["Grace Hopper"]  # a national number: read in the account's region
    assert found("555") == ["Grace Hopper", "Ada Lovelace"]  # digits of a phone
    assert found("nobody") == ["No match."]
    too_long = browser.request("GET", "/leads?q=" + "x" * 201)
    assert too_long.status == 400 and "at most 200 characters" in too_long.text
    assert 'aria-invalid="true"' in too_long.text


def test_a_search_reads_a_bounded_batch_and_goes_on_when_asked_but_a_phone_is_read_directly(
    dashboard: ModuleType, api: Api, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lead_pages, "SEARCH_BOUND", 4)
    for n in range(10):
        api.post_lead(account.webhook_token, {"name": f"Person {n}", "phone": f"+1415555{n:04d}"})
    browser = signed_in(dashboard, account.api_key)

    by_phone = browser.request("GET", "/leads?q=%2B14155550000")  # the oldest lead
    by_name = browser.request("GET", "/leads?q=Person+0")
    on = browser.request("GET", link(by_name.text, "Search older leads"))
    further = browser.request("GET", link(on.text, "Search older leads"))

    assert rows(by_phone.text) == ["Person 0"]
    assert rows(by_name.text) == ["No match."] and "among the 4 newest read so far" in by_name.text
    assert rows(on.text) == ["No match."]
    assert rows(further.text) == ["Person 0"] and "Search older leads" not in further.text


def test_a_leads_page_shows_its_fields_messages_deliveries_and_audit_entries(
    dashboard: ModuleType, api: Api, account: Account, stack: Stack
) -> None:
    lead = {"name": SCRIPT, "phone": "+14155550123", "tags": ["vip", SCRIPT], "budget": SCRIPT}
    assert api.post_lead(account.webhook_token, lead).status == 201
    lead_id = lead_id_for_phone(account.account_id, "+14155550123")
    other = person_writes(stack, account, 77, "Someone else", "not about this lead")
    endpoint = WebhookEndpoint(
        account.account_id,
        "ep_crm",
        "CRM",
        "https://crm.example/hook",
        (EndpointSecret(b"x", "t"),),
        "t",
        "t",
    )
    DynamoEndpointRepository(stack.table_name).insert(
        endpoint, None, AuditEntry(account.account_id, "endpoint.created", "api", to_iso(utc_now()))
    )
    log = DynamoDeliveryLog(stack.table_name)
    for n, about in enumerate((lead_id, "lead_other", lead_id)):
        envelope = {"id": f"evt_{n}", "event": "lead.updated", "data": {"leadId": about}}
        at = to_iso(utc_now() + timedelta(seconds=n))
        log.save(
            Delivery(
                account.account_id, f"dlv_{n}", "ep_crm", f"evt_{n}", "lead.updated", account.account_id,
                at, at, envelope, status=DeliveryStatus.FAILED if n == 2 else DeliveryStatus.DELIVERED,
            )
        )  # fmt: skip
    browser = signed_in(dashboard, account.api_key)

    page = browser.request("GET", f"/leads/{lead_id}")

    assert page.status == 200 and SCRIPT not in page.text
    assert page.text.count(ESCAPED) >= 4  # heading, tag, custom field, title
    assert "vip" in page.text and "budget" in page.text
    assert page.text.count("<code>lead.updated</code>") == 2 and "CRM" in page.text
    assert "lead.created" in page.text  # the audit entry of its capture
    assert "No conversation" in page.text and other not in page.text
    assert browser.request("GET", "/leads/lead_nope").status == 404


def test_a_leads_page_shows_the_messages_of_its_conversations(
    dashboard: ModuleType, account: Account, stack: Stack
) -> None:
    conversation_id = person_writes(stack, account, 42, "Ada", f"Hello {SCRIPT}")
    person_writes(stack, account, 42, "Ada", "Are you there?", 1)
    lead_id = DynamoConversationStore(stack.table_name).get_conversation(account.account_id, conversation_id)
    assert lead_id is not None
    browser = signed_in(dashboard, account.api_key)

    page = browser.request("GET", f"/leads/{lead_id.lead_id}")

    assert f'href="/inbox/{conversation_id}"' in page.text
    texts = re.findall(r'<p class="text">(.*?)</p>', page.text, re.S)
    assert texts == ["Are you there?", f"Hello {ESCAPED}"]  # newest first


def test_a_leads_read_session_sees_leads_but_no_conversation_and_cannot_write(
    dashboard: ModuleType, api: Api, account: Account, stack: Stack
) -> None:
    conversation_id = person_writes(stack, account, 42, "Ada", "Hi")
    lead_id = DynamoConversationStore(stack.table_name).get_conversation(account.account_id, conversation_id)
    reader_key = api.call(
        "POST", "/api/api-keys", api_key=account.api_key, json_body={"name": "r", "scopes": ["leads:read"]}
    ).body["apiKey"]
    reader = signed_in(dashboard, reader_key)

    lead_page = reader.request("GET", f"/leads/{lead_id.lead_id}")  # type: ignore[union-attr]
    csrf = reader.csrf("/leads")
    refused = reader.request("POST", f"/inbox/{conversation_id}/reply", {"text": "Hi", "csrf": csrf})

    assert nav_links(lead_page.text) == ["/", "/leads"]
    assert (
        lead_page.status == 200 and "Messages" not in lead_page.text and "Audit entries" not in lead_page.text
    )
    assert reader.request("GET", "/inbox").status == 403
    assert reader.request("GET", f"/inbox/{conversation_id}/live").status == 403
    assert refused.status == 403
    assert len(DynamoLeadActivity(stack.table_name).latest_messages(
        account.account_id, conversation_id, 10, None
    ).items) == 1  # fmt: skip


# -- the inbox ------------------------------------------------------------------------------------


def test_the_inbox_lists_conversations_with_their_lead_and_latest_message(
    dashboard: ModuleType, account: Account, stack: Stack
) -> None:
    first = person_writes(stack, account, 1, SCRIPT, f"Price? {SCRIPT}")
    second = person_writes(stack, account, 2, "Grace", "Hello")
    browser = signed_in(dashboard, account.api_key)

    page = browser.request("GET", "/inbox")

    assert page.status == 200 and SCRIPT not in page.text
    assert rows(page.text) == ["Grace", ESCAPED]
    assert f"Price? {ESCAPED}" in page.text and f'href="/inbox/{first}"' in page.text
    assert 'aria-live="polite"' in page.text and 'data-poll="/inbox/live?status=open"' in page.text
    assert second in page.text
    closed = browser.request("GET", "/inbox?status=closed")
    assert rows(closed.text)[0].startswith("No closed conversations yet.")
    assert browser.request("GET", "/inbox?status=spam").status == 400


def test_the_polled_fragments_answer_304_until_something_changes(
    dashboard: ModuleType, account: Account, stack: Stack
) -> None:
    conversation_id = person_writes(stack, account, 5, "Ada", "Hi")
    browser = signed_in(dashboard, account.api_key)
    for page_path, live in (("/inbox", "/inbox/live?status=open"), (f"/inbox/{conversation_id}", None)):
        html = browser.request("GET", page_path).text
        poll = re.search(r'data-poll="([^"]+)" data-poll-etag="&quot;([0-9a-f]+)&quot;"', html)
        assert poll, page_path
        url = (live or poll.group(1)).replace("&amp;", "&")
        etag = f'"{poll.group(2)}"'

        unchanged = browser.request("GET", url, headers={"if-none-match": etag})
        assert (unchanged.status, unchanged.text) == (304, "")
        person_writes(stack, account, 5, "Ada", f"News for {page_path}", n=len(page_path))
        changed = browser.request("GET", url, headers={"if-none-match": etag})
        assert changed.status == 200 and changed.headers["etag"] != etag
        assert f"News for {page_path}" in changed.text and "<html" not in changed.text


def test_an_agent_replies_takes_over_and_closes_as_through_the_api(
    dashboard: ModuleType, account: Account, stack: Stack
) -> None:
    conversation_id = person_writes(stack, account, 9, "Ada", "Can someone call me?")
    store = DynamoConversationStore(stack.table_name)
    browser = signed_in(dashboard, account.api_key)
    path = f"/inbox/{conversation_id}"
    csrf = browser.csrf(path)

    empty = browser.request("POST", f"{path}/reply", {"text": "  ", "csrf": csrf})
    sent = browser.request("POST", f"{path}/reply", {"text": "Calling you in 5 minutes", "csrf": csrf})
    taken = browser.request("POST", f"{path}/auto-reply", {"autoReply": "off", "csrf": csrf})
    thread = browser.request("GET", sent.headers["location"])

    assert empty.status == 400 and "at least 1 character" in empty.text
    assert (sent.status, sent.headers["location"]) == (303, f"{path}?done=sent#thread-end")
    queue_url = stack.specs["DashboardFunction"].environment["CONVERSATION_QUEUE_URL"]
    jobs = shared_clients().client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    [job] = [json.loads(m["Body"]) for m in jobs["Messages"]]
    assert job["conversationId"] == conversation_id
    assert "Calling you in 5 minutes" in thread.text and "queued" in thread.text
    assert taken.status == 303 and not store.get_conversation(account.account_id, conversation_id).auto_reply  # type: ignore[union-attr]
    assert "Turn automatic replies back on" in browser.request("GET", path).text

    closed = browser.request("POST", f"{path}/close", {"csrf": csrf})
    late = browser.request("POST", f"{path}/reply", {"text": "One more thing", "csrf": csrf})

    assert closed.status == 303
    assert store.get_conversation(account.account_id, conversation_id).status == "closed"  # type: ignore[union-attr]
    assert late.status == 409 and 'role="alert">The conversation is closed' in late.text
    audit = {
        e["action"]["S"]: e for e in stack.entities("audit") if e["action"]["S"].startswith("conversation.")
    }
    assert set(audit) == {"conversation.message_queued", "conversation.auto_reply_off", "conversation.closed"}
    assert {(e["source"]["S"], e["target"]["M"]["conversationId"]["S"]) for e in audit.values()} == {
        ("dashboard", conversation_id)
    }
    lead_page = browser.request("GET", f"/leads/{audit['conversation.closed']['target']['M']['leadId']['S']}")
    assert "<code>conversation.closed</code>" in lead_page.text  # a lead's audit entries include them
    assert browser.request("POST", f"{path}/reply", {"text": "x"}).status == 403  # no CSRF token


def test_a_long_thread_opens_at_its_end_and_pages_back(
    dashboard: ModuleType, account: Account, stack: Stack
) -> None:
    for n in range(12):
        conversation_id = person_writes(stack, account, 3, "Ada", f"message {n:02d} " + "x" * 4000, n)
    browser = signed_in(dashboard, account.api_key)

    latest = browser.request("GET", f"/inbox/{conversation_id}")
    earlier = browser.request("GET", link(latest.text, "Earlier messages"))

    def numbers(html: str) -> list[int]:
        return [int(n) for n in re.findall(r"message (\d\d) x", html)]

    assert numbers(latest.text) == list(range(5, 12))  # as many as the page's budget holds
    assert numbers(earlier.text) == list(range(0, 5))
    assert len(latest.text.encode()) <= 60 * 1024 and len(earlier.text.encode()) <= 60 * 1024
