"""The web channel (website widget), domain only, over in-memory ports: who may call (key, origin, on/off),
visitors and their tokens, messages stored once in the visitor's conversation, polling, rate limits and
lead capture by the lead webhook's rules."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadhub.accounts.models import Account, Plan
from leadhub.channels.senders import ChannelSenders
from leadhub.channels.web import configuration, tokens
from leadhub.channels.web.adapters.web_sender import WebSender
from leadhub.channels.web.origins import allowed, normalised_origin
from leadhub.channels.web.visitors import (
    WidgetCall,
    cors_origin,
    leave_contact,
    poll_messages,
    post_message,
    start_session,
)
from leadhub.channels.web.widget import WIDGET_KEY_SHAPE, RateLimits, WidgetSettings, snippet
from leadhub.conversations.agent_actions import close_conversation
from leadhub.conversations.conversations import lead_id_for_contact
from leadhub.conversations.jobs import reply_job_for
from leadhub.conversations.models import Channel, Contact, ConversationStatus, Direction
from leadhub.conversations.replies import queued_message
from leadhub.leads.identity import lead_id_for_email, lead_id_for_phone
from leadhub.leads.leads import upsert_lead
from leadhub.leads.submission import validate_submission
from leadhub.outbound.outbox import lead_facts, message_facts
from leadhub.platform.errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    SecretNotConfigured,
    TooManyRequests,
    Unauthorized,
)
from leadhub.platform.ids import token_hash
from leadhub.platform.timestamps import to_iso
from tests.fakes import (
    CountingLimiter,
    InMemoryAccounts,
    InMemoryLeads,
    InMemoryVisitors,
    InMemoryWidgets,
    StaticSecret,
)

NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
ORIGIN = "https://shop.example"
SECRET = "widget-secret-for-unit-tests-0123456789"


class World:
    def __init__(self) -> None:
        self.accounts = InMemoryAccounts()
        self.accounts.accounts["acc_1"] = Account("acc_1", "Shop", Plan.PRO, "GB", "2026-01-01", "h", b"c")
        self.widgets = InMemoryWidgets()
        self.leads = InMemoryLeads()
        self.store = InMemoryVisitors(self.leads)
        self.limiter = CountingLimiter()
        self.secret = StaticSecret(SECRET)
        self.widget = configuration.save_widget(
            "acc_1",
            WidgetSettings(
                enabled=True, allowed_origins=(ORIGIN,), consent_text="We answer you, nothing else."
            ),
            widgets=self.widgets,
            accounts=self.accounts,
            actor="key_1",
            source="api",
            now=NOW,
        )

    def sending(self) -> dict[str, Any]:
        """The ports of start_session and post_message."""
        return {
            "widgets": self.widgets,
            "visitors": self.store,
            "limiter": self.limiter,
            "secret": self.secret,
        }

    def polling(self) -> dict[str, Any]:
        """The ports of poll_messages."""
        return {"widgets": self.widgets, "visitors": self.store, "secret": self.secret}

    def capturing(self) -> dict[str, Any]:
        """The ports of leave_contact."""
        return {**self.sending(), "leads": self.leads}

    def configure(self, **changes: object) -> None:
        settings = replace(self.widget.settings, **changes)  # type: ignore[arg-type]
        self.widget = configuration.save_widget(
            "acc_1",
            settings,
            widgets=self.widgets,
            accounts=self.accounts,
            actor="key_1",
            source="api",
            now=NOW,
        )

    def call(self, origin: str | None = ORIGIN, ip: str = "203.0.113.7", **tokens_: str | None) -> WidgetCall:
        return WidgetCall(self.widget.widget_key, origin, ip, tokens_.get("visitor"), tokens_.get("page"))

    def session(self, visitor_token: str | None = None, ip: str = "203.0.113.7", now: datetime = NOW) -> dict:
        return start_session(
            self.call(ip=ip, visitor=visitor_token), b"", None, **self.sending(), now=now
        ).to_public()

    def visitor(self, now: datetime = NOW) -> WidgetCall:
        opened = self.session(now=now)
        return self.call(visitor=opened["visitorToken"], page=opened["pageToken"])

    def send(self, call: WidgetCall, text: str, client_id: str = "m1", now: datetime = NOW) -> dict:
        body = json.dumps({"clientMessageId": client_id, "text": text}).encode()
        return post_message(call, body, "application/json", **self.sending(), now=now).to_public()

    def poll(self, call: WidgetCall, cursor: str | None = None, now: datetime = NOW) -> dict:
        return poll_messages(call, cursor, **self.polling(), now=now).to_public()

    def contact(self, call: WidgetCall, now: datetime = NOW, **fields: object) -> dict:
        body = json.dumps(fields).encode()
        return leave_contact(call, body, "application/json", **self.capturing(), now=now).to_public()

    def conversations(self) -> list:
        return [c for (account, _), c in self.store.conversations.items() if account == "acc_1"]

    def reply(self, text: str, status: str = "sent", at: datetime = NOW, kind: str = "automation") -> None:
        [conversation] = self.conversations()
        message = queued_message(conversation, f"msg_reply_{len(self.store.messages)}", kind, text, {}, at)
        if status != "queued":
            message = replace(message, status=status, status_at=message.sent_at)
        self.store.create_outbound(message)


@pytest.fixture
def world() -> World:
    return World()


# -- who may call ---------------------------------------------------------------------------------


def test_the_first_save_creates_a_public_key_and_the_snippet_names_it(world: World) -> None:
    assert WIDGET_KEY_SHAPE.fullmatch(world.widget.widget_key)
    assert world.widget.default_region == "GB"
    key = world.widget.widget_key
    assert snippet("https://api.example", key) == (
        f'<script src="https://api.example/widget.js" data-widget-key="{key}" async></script>'
    )
    before = world.widget.widget_key
    world.configure(title="Talk to us")
    assert world.widget.widget_key == before and world.widget.version == 2


def test_rotating_the_key_refuses_the_old_one(world: World) -> None:
    old_call = world.call()
    rotated = configuration.rotate_widget_key(
        "acc_1", widgets=world.widgets, actor="key_1", source="api", now=NOW
    )
    assert rotated.widget_key != old_call.widget_key
    with pytest.raises(Unauthorized):
        start_session(old_call, b"", None, **world.sending(), now=NOW)
    world.widget = rotated
    assert world.session()["visitorToken"]
    with pytest.raises(NotFound):
        configuration.rotate_widget_key("acc_2", widgets=world.widgets, actor="key_1", source="api", now=NOW)


def test_a_save_that_lost_a_race_is_a_conflict(world: World) -> None:
    world.widgets.lost_races = 1
    with pytest.raises(Conflict):
        world.configure(title="Second")
    assert world.widgets.widgets["acc_1"].settings.title == "Chat with us"


@pytest.mark.parametrize(
    ("key", "origin", "refusal"),
    [
        ("lhw_" + "x" * 32, ORIGIN, Unauthorized),  # no such widget
        ("not-a-key", ORIGIN, Unauthorized),  # refused without a lookup
        (None, "https://elsewhere.example", Forbidden),
        (None, None, Forbidden),  # a request from no page at all
        (None, "https://shop.example.evil.test", Forbidden),
    ],
)
def test_unknown_keys_and_other_origins_are_refused(world: World, key, origin, refusal) -> None:
    call = replace(world.call(origin=origin), widget_key=key or world.widget.widget_key)
    lookups = world.widgets.lookups
    with pytest.raises(refusal):
        start_session(call, b"", None, **world.sending(), now=NOW)
    assert cors_origin(call, widgets=world.widgets) is None
    if key == "not-a-key":
        assert world.widgets.lookups == lookups  # refused by its shape, without a lookup
    assert world.store.visitors == {}


def test_a_widget_turned_off_is_refused_but_its_page_may_read_why(world: World) -> None:
    world.configure(enabled=False)
    with pytest.raises(Forbidden, match="turned off"):
        world.session()
    assert cors_origin(world.call(), widgets=world.widgets) == ORIGIN


def test_origins_are_compared_as_browsers_send_them() -> None:
    assert normalised_origin("HTTPS://Shop.Example:443/") == "https://shop.example"
    assert normalised_origin("http://localhost:8000") == "http://localhost:8000"
    assert allowed("https://shop.example", ("https://shop.example",))
    assert not allowed("https://shop.example:8443", ("https://shop.example",))
    assert not allowed("null", ("https://shop.example",))
    for bad in ("shop.example", "https://shop.example/path", "ftp://shop.example", "https://*.shop.example"):
        with pytest.raises(ValueError):
            normalised_origin(bad)


def test_without_the_deployment_secret_the_endpoints_answer_503(world: World) -> None:
    world.secret = StaticSecret(None)
    with pytest.raises(SecretNotConfigured):
        world.session()


# -- visitors and their tokens --------------------------------------------------------------------------


def test_a_returning_visitor_keeps_their_id_and_a_token_of_another_account_is_a_new_visitor(
    world: World,
) -> None:
    first = world.session()
    again = world.session(first["visitorToken"])
    assert again["visitorToken"] == first["visitorToken"]
    assert again["pageToken"] != first["pageToken"]  # a page token per page load
    foreign = tokens.visitor_token(SECRET, "acc_other", tokens.new_visitor_id())
    assert world.session(foreign)["visitorToken"] != foreign
    forged = first["visitorToken"][:-2] + ("AA" if not first["visitorToken"].endswith("AA") else "BB")
    assert world.session(forged)["visitorToken"] != first["visitorToken"]


def test_messages_need_both_tokens_and_a_page_token_expires(world: World) -> None:
    opened = world.session()
    with pytest.raises(Unauthorized, match="visitor token"):
        world.send(world.call(page=opened["pageToken"]), "Hello")
    with pytest.raises(Unauthorized, match="page token"):
        world.send(world.call(visitor=opened["visitorToken"]), "Hello")
    other = world.session()
    with pytest.raises(Unauthorized, match="page token"):  # another visitor's page token
        world.send(world.call(visitor=opened["visitorToken"], page=other["pageToken"]), "Hello")
    call = world.call(visitor=opened["visitorToken"], page=opened["pageToken"])
    assert world.send(call, "Hello", now=NOW + timedelta(hours=11))["stored"]
    with pytest.raises(Unauthorized, match="expired"):
        world.send(call, "Hello again", "m2", now=NOW + timedelta(hours=13))


def test_new_visitors_per_ip_are_limited(world: World) -> None:
    world.configure(rate_limits=RateLimits(new_visitors_per_ip=2))
    world.session()
    world.session()
    returning = world.session(ip="198.51.100.1")
    with pytest.raises(TooManyRequests) as refused:
        world.session(now=NOW + timedelta(seconds=15))
    assert refused.value.retry_after == 45
    world.session(returning["visitorToken"])  # a returning visitor is no new one
    world.session(now=NOW + timedelta(minutes=1))  # the next window


# -- messages ---------------------------------------------------------------------------------------------


def test_a_message_is_stored_in_a_new_conversation_and_asks_for_a_reply(world: World) -> None:
    call = world.visitor()
    assert world.send(call, "  What is the price?  ") == {
        "stored": True,
        "messagesSent": 1,
        "captured": False,
    }

    [conversation] = world.conversations()
    [message] = world.store.messages.values()
    visitor_id = tokens.visitor_of(SECRET, "acc_1", call.visitor_token)
    assert (conversation.channel, conversation.lead_id, conversation.route) == (
        Channel.WEB,
        visitor_id,  # anonymous: no lead yet
        {"visitorId": visitor_id},
    )
    assert (message.direction, message.text, message.conversation_id) == (
        Direction.INBOUND,
        "What is the price?",
        conversation.conversation_id,
    )
    assert [f.event for f in message_facts(None, message)] == ["message.received"]
    assert reply_job_for(None, message) is not None  # the conversation worker answers it
    assert world.leads.leads == {}  # anonymous visitors are no leads


def test_a_resent_message_is_stored_once_and_later_ones_join_the_conversation(world: World) -> None:
    call = world.visitor()
    world.send(call, "Hello", "m1")
    assert world.send(call, "Hello", "m1") == {"stored": False, "messagesSent": 1, "captured": False}
    assert world.send(call, "Anyone there?", "m2")["messagesSent"] == 2
    [conversation] = world.conversations()
    assert conversation.message_count == 2 and len(world.store.messages) == 2


def test_after_an_agent_closes_the_conversation_the_next_message_opens_a_new_one(world: World) -> None:
    call = world.visitor()
    world.send(call, "Hello", "m1")
    [first] = world.conversations()
    close_conversation("acc_1", first.conversation_id, store=world.store, now=NOW)
    world.send(call, "Me again", "m2")
    assert len(world.conversations()) == 2
    [reopened] = [c for c in world.conversations() if c.status is ConversationStatus.OPEN]
    assert reopened.conversation_id != first.conversation_id
    assert [m["text"] for m in world.poll(call)["messages"]] == ["Me again"]


def test_a_visitor_writing_meanwhile_is_read_again(world: World) -> None:
    from leadhub.conversations.ports import CommitOutcome

    call = world.visitor()
    world.store.interfere = [CommitOutcome.LEAD_CHANGED]
    assert world.send(call, "Hello")["stored"]
    assert world.store.commits == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"clientMessageId": "m1", "text": "x" * 2001}, "text"),
        ({"clientMessageId": "m1", "text": "   "}, "text"),
        ({"clientMessageId": "m 1", "text": "Hello"}, "clientMessageId"),
        ({"clientMessageId": "m1", "text": "Hello", "website": "http://spam.example"}, "website"),
        ({"clientMessageId": "m1", "text": "Hello", "extra": 1}, "extra"),
    ],
)
def test_bad_messages_are_refused_field_by_field(world: World, body: dict, field: str) -> None:
    call = world.visitor()
    with pytest.raises(InvalidRequest) as refused:
        post_message(call, json.dumps(body).encode(), "application/json", **world.sending(), now=NOW)
    assert [d.field for d in refused.value.details] == [field]
    assert world.store.messages == {}


def test_a_text_of_2000_characters_is_accepted(world: World) -> None:
    assert world.send(world.visitor(), "y" * 2000)["stored"]


def test_messages_per_visitor_and_per_ip_are_limited(world: World) -> None:
    world.configure(rate_limits=RateLimits(messages_per_visitor=2, messages_per_ip=3))
    call = world.visitor()
    world.send(call, "one", "m1")
    world.send(call, "two", "m2")
    with pytest.raises(TooManyRequests) as refused:
        world.send(call, "three", "m3", now=NOW + timedelta(seconds=50))
    assert refused.value.retry_after == 10
    neighbour = world.visitor()  # same address
    world.send(neighbour, "hi", "n1")
    with pytest.raises(TooManyRequests):
        world.send(neighbour, "hi again", "n2")
    assert len(world.store.messages) == 3


def test_capture_before_the_chat_refuses_messages_until_details_are_left(world: World) -> None:
    world.configure(capture="before_chat")
    call = world.visitor()
    with pytest.raises(Conflict, match="contact details"):
        world.send(call, "Hello")
    world.contact(call, email="ada@example.com")
    assert world.send(call, "Hello") == {"stored": True, "messagesSent": 1, "captured": True}
    [conversation] = world.conversations()
    assert conversation.lead_id == lead_id_for_email("acc_1", "ada@example.com")


# -- polling --------------------------------------------------------------------------------------------


def test_polling_shows_sent_replies_stops_before_unsent_ones_and_continues_from_its_cursor(
    world: World,
) -> None:
    call = world.visitor()
    assert world.poll(call) == {"messages": [], "cursor": None, "captured": False, "messagesSent": 0}
    world.send(call, "What is the price?")
    world.reply("10 EUR", at=NOW + timedelta(seconds=1))
    world.reply("An agent's note", status="queued", kind="manual", at=NOW + timedelta(seconds=2))
    world.reply("Later", at=NOW + timedelta(seconds=3))

    first = world.poll(call)
    assert [(m["from"], m["text"]) for m in first["messages"]] == [
        ("visitor", "What is the price?"),
        ("bot", "10 EUR"),
    ]
    assert first["messages"][0]["clientMessageId"] == "m1"
    assert world.poll(call, first["cursor"])["messages"] == []  # the queued one holds the rest back

    [queued] = [m for m in world.store.messages.values() if m.status == "queued"]
    world.store.messages[("acc_1", queued.message_id)] = replace(queued, status="sent", status_at="later")
    second = world.poll(call, first["cursor"])
    assert [(m["from"], m["text"]) for m in second["messages"]] == [
        ("agent", "An agent's note"),
        ("bot", "Later"),
    ]
    assert world.poll(call, second["cursor"])["messages"] == []


def test_a_failed_reply_is_skipped_and_a_cursor_of_another_conversation_starts_afresh(world: World) -> None:
    call = world.visitor()
    world.send(call, "Hello")
    world.reply("never sent", status="failed", at=NOW + timedelta(seconds=1))
    world.reply("Hi!", at=NOW + timedelta(seconds=2))
    assert [m["text"] for m in world.poll(call)["messages"]] == ["Hello", "Hi!"]
    other = world.visitor()
    world.send(other, "Mine")
    foreign_cursor = world.poll(other)["cursor"]
    assert [m["text"] for m in world.poll(call, foreign_cursor)["messages"]] == ["Hello", "Hi!"]
    with pytest.raises(InvalidRequest):
        world.poll(call, "not!a!cursor")


# -- lead capture -----------------------------------------------------------------------------------------


def test_leaving_an_email_creates_a_lead_with_the_page_and_attaches_the_conversation(world: World) -> None:
    call = world.visitor()
    world.send(call, "What is the price?")
    page = "https://shop.example/pricing?utm_source=news&utm_medium=email&utm_campaign=may&x=1"
    assert world.contact(
        call, name="Ada", email="Ada@Example.com", pageUrl=page, referrer="https://search.example/"
    ) == {"captured": True}

    [lead] = world.leads.leads.values()
    assert lead.lead_id == lead_id_for_email("acc_1", "ada@example.com")
    assert (lead.name, lead.email, lead.phone, lead.source) == (
        "Ada",
        "Ada@example.com",
        None,
        "website-widget",
    )
    assert dict(lead.custom_fields) == {
        "pageUrl": page,
        "utm_source": "news",
        "utm_medium": "email",
        "utm_campaign": "may",
        "referrer": "https://search.example/",
        "consentText": "We answer you, nothing else.",
    }
    assert [f.event for f in lead_facts(None, lead)] == ["lead.created"]
    [conversation] = world.conversations()
    assert conversation.lead_id == lead.lead_id
    assert world.poll(call)["captured"] is True
    world.send(call, "Thanks", "m2")
    assert [m.lead_id for m in world.store.messages.values() if m.text == "Thanks"] == [lead.lead_id]


def test_a_captured_visitors_message_is_their_leads_activity_and_a_concurrent_lead_write_is_read_again(
    world: World,
) -> None:
    call = world.visitor()
    world.contact(call, name="Ada", email="ada@example.com")
    [captured] = world.leads.leads.values()
    later = NOW + timedelta(hours=1)
    again = world.call(
        visitor=call.visitor_token, page=world.session(call.visitor_token, now=later)["pageToken"]
    )
    key = (captured.account_id, captured.lead_id)
    world.leads.leads[key] = replace(
        captured, name="Ada L.", version=captured.version + 1
    )  # a CRM, meanwhile

    assert world.send(again, "Still free?", now=later)["stored"]

    lead = world.leads.leads[key]
    assert (lead.last_activity_at, lead.last_conversation_at) == (to_iso(later), to_iso(later))
    assert lead.name == "Ada L." and lead.version == captured.version + 2  # the CRM's change kept
    assert lead.re_engaged_at is None  # an hour of silence is not re-engagement


def test_an_email_lead_is_the_email_channels_lead_for_that_address() -> None:
    contact = Contact(Channel.EMAIL, "ada@example.com", email="ada@example.com")
    assert lead_id_for_email("acc_1", "Ada@Example.COM") == lead_id_for_contact("acc_1", contact)


def test_a_phone_merges_into_the_lead_a_crm_posted_and_two_visitors_with_one_email_are_one_lead(
    world: World,
) -> None:
    crm = validate_submission({"phone": "+447911123456", "name": "Ada L", "tags": ["vip"]}, "GB")
    upsert_lead("acc_1", crm, leads=world.leads, now=NOW - timedelta(days=40), source="webhook")
    world.contact(world.visitor(), phone="07911 123456", email="ada@example.com")  # national, region GB
    lead = world.leads.leads[("acc_1", lead_id_for_phone("acc_1", "+447911123456"))]
    assert (lead.source, lead.tags, lead.email) == ("webhook", ("vip",), "ada@example.com")  # merged
    assert lead.re_engaged_at is not None  # 40 days of silence
    assert len(world.leads.leads) == 1

    world.contact(world.visitor(), email="bob@example.com")
    world.contact(world.visitor(), email="BOB@example.com", name="Bob")
    assert len(world.leads.leads) == 2
    assert world.leads.leads[("acc_1", lead_id_for_email("acc_1", "bob@example.com"))].name == "Bob"


@pytest.mark.parametrize(
    ("fields", "problems"),
    [
        ({"name": "Ada"}, ["email"]),  # an email or a phone is needed
        ({"email": "ada@", "phone": "12"}, ["phone", "email"]),
        ({"email": "ada@example.com", "pageUrl": "javascript:alert(1)"}, ["pageUrl"]),
        ({"email": "ada@example.com", "website": "x"}, ["website"]),
        ({"email": "ada@example.com", "tags": ["x"]}, ["tags"]),
    ],
)
def test_contact_details_follow_the_lead_webhooks_rules(world: World, fields: dict, problems: list) -> None:
    with pytest.raises(InvalidRequest) as refused:
        world.contact(world.visitor(), **fields)
    assert [d.field for d in refused.value.details] == problems
    assert world.leads.leads == {}


# -- the reply's way back ------------------------------------------------------------------------------


def test_the_web_sender_calls_nothing_and_names_the_message_by_our_id(world: World) -> None:
    call = world.visitor()
    world.send(call, "Hello")
    [conversation] = world.conversations()
    senders = ChannelSenders({Channel.WEB: WebSender()})
    assert senders.send_text(conversation, "Hi!", None, idempotency_key="msg_1") == "web:msg_1"


def test_the_lookup_is_by_the_keys_hash(world: World) -> None:
    assert world.widgets.find_by_key_hash(token_hash(world.widget.widget_key)) == world.widget
