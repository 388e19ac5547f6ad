"""Inbound email: Svix signatures, routing by reply address or connected domain, dedupe, and the content
step (new text only) — no network."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from leadhub.channels.email.content import complete_email, html_to_text, new_text
from leadhub.channels.email.inbound import check_svix_signature, receive_email_event
from leadhub.conversations.jobs import ContentJob, content_job_for
from leadhub.conversations.models import Channel, email_reply_route_key
from leadhub.conversations.ports import ChannelRoute
from leadhub.outbound.outbox import message_facts
from leadhub.platform.errors import InvalidRequest, SecretNotConfigured, Unauthorized
from tests.fakes import InMemoryConversations

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
ACCOUNT = "acc_mail"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RECEIVING = "inbound.leadhub.test"


class Routes:
    def __init__(self) -> None:
        self.routes: dict[str, str] = {"acme.test": ACCOUNT}

    def find_route(self, channel: Channel, key: str) -> ChannelRoute | None:
        account = self.routes.get(key) if channel is Channel.EMAIL else None
        return ChannelRoute(channel, key, account, {}) if account else None


def received(
    to: list[str], email_id: str = "e-1", sender: str = "Ada Lovelace <Ada@Example.com>"
) -> dict[str, Any]:
    event = json.loads((SAMPLES / "resend" / "email-received-docs.json").read_text())
    event["data"].update(email_id=email_id, to=to, **{"from": sender})
    return event


def signed(
    event: Any, msg_id: str = "msg_1", at: datetime = NOW, secret: str = SECRET
) -> tuple[bytes, dict[str, str]]:
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signature = base64.b64encode(
        hmac.new(key, f"{msg_id}.{int(at.timestamp())}.".encode() + body, hashlib.sha256).digest()
    )
    headers = {
        "svix-id": msg_id,
        "svix-timestamp": str(int(at.timestamp())),
        "svix-signature": f"v1,{signature.decode()}",
    }
    return body, headers


def receive(store, event, routes=None, **kw) -> str:
    body, headers = signed(event, **kw)
    return receive_email_event(
        body,
        headers,
        webhook_secret=SECRET,
        receiving_domain=RECEIVING,
        routes=routes or Routes(),
        store=store,
        now=NOW,
    ).outcome


@pytest.fixture
def store() -> InMemoryConversations:
    return InMemoryConversations()


# -- signatures -------------------------------------------------------------------------------


def test_the_standard_webhooks_known_answer_vector_verifies_as_svix_headers() -> None:
    source = (SAMPLES / "standard-webhooks" / "sigvec-sign-known-answer.source.txt").read_text()
    secret = source.split("secret: ")[1].split()[0]
    body = (SAMPLES / "standard-webhooks" / "sigvec-sign-known-answer.body.txt").read_bytes()
    headers = {
        "svix-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "svix-timestamp": "1614265330",
        "svix-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    at = datetime.fromtimestamp(1614265330, tz=UTC)
    assert check_svix_signature(body, headers, secret, at) == "msg_p5jXN8AQM9LWM0D4loKWxJek"
    with pytest.raises(Unauthorized):
        check_svix_signature(body + b" ", headers, secret, at)


@pytest.mark.parametrize("skew", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_timestamps_more_than_five_minutes_away_are_refused(store, skew) -> None:
    with pytest.raises(Unauthorized, match="5 minutes"):
        receive(store, received(["hello@acme.test"]), at=NOW + skew)
    assert receive(store, received(["hello@acme.test"]), at=NOW + timedelta(minutes=4)) == "stored"


@pytest.mark.parametrize("missing", ["svix-id", "svix-timestamp", "svix-signature"])
def test_missing_svix_headers_are_401(store, missing) -> None:
    body, headers = signed(received(["hello@acme.test"]))
    del headers[missing]
    with pytest.raises(Unauthorized, match="Missing"):
        receive_email_event(
            body,
            headers,
            webhook_secret=SECRET,
            receiving_domain=RECEIVING,
            routes=Routes(),
            store=store,
            now=NOW,
        )
    assert store.commits == 0


def test_a_wrong_secret_is_401_and_no_secret_is_503(store) -> None:
    body, headers = signed(
        received(["hello@acme.test"]), secret="whsec_" + base64.b64encode(b"x" * 32).decode()
    )
    with pytest.raises(Unauthorized):
        receive_email_event(
            body,
            headers,
            webhook_secret=SECRET,
            receiving_domain=RECEIVING,
            routes=Routes(),
            store=store,
            now=NOW,
        )
    with pytest.raises(SecretNotConfigured):
        receive_email_event(
            body,
            headers,
            webhook_secret=None,
            receiving_domain=RECEIVING,
            routes=Routes(),
            store=store,
            now=NOW,
        )


# -- routing and storing ----------------------------------------------------------------------


def test_mail_to_a_connected_domain_starts_a_conversation_awaiting_its_content(store) -> None:
    assert receive(store, received(["Sales <SALES@acme.test>"])) == "stored"
    [lead] = store.lead_store.leads.values()
    assert (lead.email, lead.name, dict(lead.channel_ids)) == (
        "ada@example.com",
        "Ada Lovelace",
        {"email": "ada@example.com"},
    )
    [message] = store.messages.values()
    assert (message.status, message.text, message.type) == ("awaiting_content", None, "email")
    assert message.content["subject"] == "Sending this example"
    assert message.content["attachments"] == [
        {"id": "2a0c9ce0-3112-4728-976e-47ddcd16a318", "filename": "avatar.png", "content_type": "image/png"}
    ]
    assert message_facts(None, message) == []  # announced once the content is there
    assert content_job_for(None, message) == ContentJob(ACCOUNT, "e-1")


def test_a_reply_to_a_conversations_address_joins_that_conversation(store) -> None:
    routes = Routes()
    receive(store, received(["hello@acme.test"]), routes)
    [conversation] = store.conversations.values()
    routes.routes[email_reply_route_key(conversation.conversation_id)] = ACCOUNT
    reply_to = f"reply+{conversation.conversation_id}@{RECEIVING.upper()}"
    assert (
        receive(store, received([reply_to], email_id="e-2", sender="ada@example.com"), routes, msg_id="msg_2")
        == "stored"
    )
    assert len(store.conversations) == 1
    assert {m.conversation_id for m in store.messages.values()} == {conversation.conversation_id}


def test_a_reply_address_of_an_unknown_conversation_falls_back_to_the_domain(store) -> None:
    to = [f"reply+conv_nope@{RECEIVING}", "hello@acme.test"]
    assert receive(store, received(to)) == "stored"


def test_mail_for_nobody_and_other_event_types_are_ignored(store) -> None:
    assert receive(store, received(["someone@elsewhere.test"])) == "ignored"
    bounce = copy.deepcopy(received(["hello@acme.test"]))
    bounce["type"] = "email.bounced"
    assert receive(store, bounce) == "ignored"
    assert receive(store, received(["hello@acme.test"], sender="MAILER-DAEMON")) == "ignored"
    assert store.commits == 0


def test_a_redelivery_with_the_same_svix_id_is_a_duplicate(store) -> None:
    assert receive(store, received(["hello@acme.test"])) == "stored"
    assert receive(store, received(["hello@acme.test"])) == "duplicate"
    assert len(store.messages) == 1


@pytest.mark.parametrize(("body", "message"), [(b"{", "not valid JSON"), (b"[]", "JSON object")])
def test_signed_bodies_that_are_not_events_are_400(store, body, message) -> None:
    with pytest.raises(InvalidRequest, match=message):
        receive(store, body)


def test_an_email_received_without_an_email_id_is_400(store) -> None:
    event = received(["hello@acme.test"])
    del event["data"]["email_id"]
    with pytest.raises(InvalidRequest, match="email_id"):
        receive(store, event)


# -- content ----------------------------------------------------------------------------------


class Emails:
    def __init__(self, emails: dict[str, dict[str, Any]]) -> None:
        self.emails = emails
        self.reads: list[str] = []

    def get(self, email_id: str) -> dict[str, Any] | None:
        self.reads.append(email_id)
        return self.emails.get(email_id)


def test_the_content_step_stores_the_new_text_and_then_the_message_is_announced(store) -> None:
    receive(store, received(["hello@acme.test"]))
    [before] = store.messages.values()
    text = (
        "Is the flat still available?\n\n"
        "On Mon, 23 Nov 2026 at 10:00, Acme <hello@acme.test> wrote:\n> Thanks for asking"
    )
    emails = Emails({"e-1": {"text": text, "headers": {"In-Reply-To": "<a@acme.test>"}}})

    assert complete_email(ContentJob(ACCOUNT, "e-1"), emails=emails, store=store) is True
    [after] = store.messages.values()
    assert (after.status, after.text, after.content["inReplyTo"]) == (
        "received",
        "Is the flat still available?",
        "<a@acme.test>",
    )
    [fact] = message_facts(before, after)
    assert fact.event == "message.received" and fact.data["text"] == "Is the flat still available?"
    assert complete_email(ContentJob(ACCOUNT, "e-1"), emails=emails, store=store) is False  # done already
    assert emails.reads == ["e-1"]


def test_html_only_mail_is_turned_into_text(store) -> None:
    receive(store, received(["hello@acme.test"]))
    sample = json.loads((SAMPLES / "resend" / "received-email-get-response-docs.json").read_text())
    complete_email(ContentJob(ACCOUNT, "e-1"), emails=Emails({"e-1": sample}), store=store)
    [message] = store.messages.values()
    assert message.text == "Congrats on sending your first email!"


def test_an_email_resend_no_longer_has_is_completed_without_text(store) -> None:
    receive(store, received(["hello@acme.test"]))
    assert complete_email(ContentJob(ACCOUNT, "e-1"), emails=Emails({}), store=store) is True
    [message] = store.messages.values()
    assert (message.status, message.text, message.content["contentError"]) == ("received", None, "not found")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Yes, Tuesday works.\n\nOn Tue, Nov 24, 2026 at 9:00 AM Acme <a@acme.test> wrote:\n> When?",
            "Yes, Tuesday works.",
        ),
        ("Yes.\nOn Tue, Nov 24, 2026 at 9:00 AM Acme Sales Team\n<a@acme.test> wrote:\n> When?", "Yes."),
        ("Ja.\n\nAm 24.11.2026 um 09:00 schrieb Acme <a@acme.test>:\n> Wann?", "Ja."),
        ("Oui.\n\nLe mar. 24 nov. 2026 à 09:00, Acme <a@acme.test> a écrit :\n> Quand ?", "Oui."),
        ("Sure.\n\n-----Original Message-----\nFrom: Acme\nSent: Monday", "Sure."),
        ("Sure.\n\n________________________________\nFrom: Acme <a@acme.test>\nSent: Monday", "Sure."),
        ("Call me.\n\n-- \nAda Lovelace\nAnalytical Engines Ltd", "Call me."),
        ("Call me.\n\nSent from my iPhone", "Call me."),
        ("> quoted first\nmine", ""),
        ("Line one\r\nLine two\r\n", "Line one\nLine two"),
        ("From: the kitchen, with love", "From: the kitchen, with love"),  # a lone From: line is content
    ],
)
def test_new_text_drops_quoted_history_and_signatures(text, expected) -> None:
    assert new_text(text) == expected


def test_html_quotes_are_dropped_and_breaks_kept() -> None:
    html = (
        "<html><head><style>p{}</style></head><body><p>Hi&nbsp;there</p><p>Two<br>lines</p>"
        "<blockquote>old</blockquote></body></html>"
    )
    assert new_text(html_to_text(html)) == "Hi\xa0there\n\nTwo\nlines"
