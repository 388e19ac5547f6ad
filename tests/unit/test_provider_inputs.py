"""Properties of the provider webhooks' domain (WhatsApp, Telegram, email) over real samples with
arbitrary JSON values anywhere in them (tests/provider_payloads.py), on in-memory fakes: a body is
either refused with a 4xx before anything is written, or answered with a receipt; and whatever is
stored is within the limits (message_limits) and convertible to a DynamoDB item."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from leadhub.adapters.dynamodb_conversations import message_to_values
from leadhub.adapters.dynamodb_items import to_item
from leadhub.adapters.dynamodb_leads import lead_to_values
from leadhub.domain.email_inbound import receive_email_event
from leadhub.domain.message_limits import MAX_CONTENT_BYTES, MAX_CONTENT_DEPTH, MAX_ID_CHARS, MAX_TEXT_CHARS
from leadhub.domain.telegram import receive_telegram
from leadhub.domain.whatsapp import WhatsAppReceipt, receive_whatsapp
from leadhub.errors import LeadhubError
from leadhub.ids import token_hash
from leadhub.models.conversation import Channel, ChannelReceipt, Message
from leadhub.ports import CommitOutcome, InboundWrite
from leadhub.timestamps import utc_now
from local.fake_providers import svix_headers
from tests.fakes import InMemoryConversations, InMemoryRoutes
from tests.provider_payloads import (
    DROP,
    EVERY_KIND,
    TELEGRAM_SAMPLES,
    WHATSAPP_SAMPLES,
    body_of,
    depth,
    json_size,
    locations,
    mutated,
    sample,
    with_value,
)

ACCOUNT = "acc_1"
PHONE_NUMBER_ID = "1122334455667"
TELEGRAM_SECRET = "s" * 43
RESEND_SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
WHATSAPP, TELEGRAM = WHATSAPP_SAMPLES, TELEGRAM_SAMPLES
EMAIL = sample("resend", "email-received-docs")
EMAIL["data"]["to"] = ["hello@acme.test"]


class ItemCheckingConversations(InMemoryConversations):
    """The in-memory store, converting what it is given to DynamoDB items first, as the DynamoDB adapter
    does before any request: a value DynamoDB cannot hold (a number of more than 38 digits) is
    UnstorableInput, and nothing is written."""

    def commit_inbound(self, write: InboundWrite) -> CommitOutcome:
        to_item(message_to_values(write.message))
        to_item(lead_to_values(write.lead))
        return super().commit_inbound(write)

    def replace_message(self, message: Message, previous: Message) -> bool:
        to_item(message_to_values(message))
        return super().replace_message(message, previous)


def _routes() -> InMemoryRoutes:
    return InMemoryRoutes(
        {
            (Channel.WHATSAPP, PHONE_NUMBER_ID): ACCOUNT,
            (Channel.TELEGRAM, token_hash(TELEGRAM_SECRET)): ACCOUNT,
            (Channel.EMAIL, "acme.test"): ACCOUNT,
        }
    )


def _within_limits(message: Message) -> None:
    json.dumps(message.to_public(), default=str).encode("utf-8")  # no lone surrogate anywhere
    for value in (message.provider_message_id, message.type, *message.content.get("omitted", [])):
        assert len(value) <= MAX_ID_CHARS
    assert message.text is None or len(message.text) <= MAX_TEXT_CHARS
    content = {k: v for k, v in message.content.items() if k != "omitted"}
    assert json_size(content) <= MAX_CONTENT_BYTES
    assert depth(message.content) <= MAX_CONTENT_DEPTH


def _event(outcome: str) -> None:
    """For --hypothesis-show-statistics: how often each outcome was reached."""
    if currently_in_test_context():
        event(outcome)


def _check(receive: Any, store: ItemCheckingConversations) -> Any:
    try:
        receipt = receive()
    except LeadhubError as exc:  # refused: only as the sender's error, and before any write
        _event(f"refused {exc.status_code}")
        assert 400 <= exc.status_code < 500, exc
        assert store.commits == 0 and not store.messages
        return None
    _event("stored" if store.messages else "nothing stored")
    for message in store.messages.values():
        _within_limits(message)
    for lead in store.lead_store.leads.values():
        assert lead.name is None or len(lead.name) <= 256
    return receipt


def _whatsapp(body: bytes, store: ItemCheckingConversations) -> WhatsAppReceipt:
    return receive_whatsapp(
        body, None, app_secret=None, skip_signature_check=True, routes=_routes(), store=store, now=utc_now()
    )


def _telegram(body: bytes, store: ItemCheckingConversations) -> ChannelReceipt:
    return receive_telegram(body, TELEGRAM_SECRET, routes=_routes(), store=store, now=utc_now())


def _email(body: bytes, store: ItemCheckingConversations, delivery_id: str = "msg_1") -> ChannelReceipt:
    return receive_email_event(
        body,
        svix_headers(RESEND_SECRET, delivery_id, body),
        webhook_secret=RESEND_SECRET,
        receiving_domain="inbound.leadhub.test",
        routes=_routes(),
        store=store,
        now=utc_now(),
    )


@settings(max_examples=200)
@given(st.sampled_from(WHATSAPP).flatmap(mutated))
def test_whatsapp_notifications_are_refused_or_stored_within_limits(payload: Any) -> None:
    store, body = ItemCheckingConversations(), body_of(payload)
    receipt = _check(lambda: _whatsapp(body, store), store)
    if receipt is not None:
        assert receipt.stored == len(store.messages)


@settings(max_examples=200)
@given(st.sampled_from(TELEGRAM).flatmap(mutated))
def test_telegram_updates_are_refused_or_stored_within_limits(update: Any) -> None:
    store, body = ItemCheckingConversations(), body_of(update)
    receipt = _check(lambda: _telegram(body, store), store)
    if receipt is not None:
        assert receipt.outcome in ("stored", "ignored")
        assert (receipt.outcome == "stored") == bool(store.messages)


@settings(max_examples=200)
@given(mutated(EMAIL), st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=300))
def test_email_events_are_refused_or_stored_within_limits(event: Any, delivery_id: str) -> None:
    store, body = ItemCheckingConversations(), body_of(event)
    receipt = _check(lambda: _email(body, store, delivery_id), store)
    if receipt is not None:
        assert (receipt.outcome == "stored") == bool(store.messages)
        if len(delivery_id) > MAX_ID_CHARS:
            assert receipt.outcome == "ignored"


def test_the_samples_themselves_are_stored() -> None:
    """The properties above start from payloads that store (the statuses sample: no message of ours)."""
    for payload in WHATSAPP:
        value = payload["entry"][0]["changes"][0]["value"]
        assert _whatsapp(body_of(payload), ItemCheckingConversations()).stored == len(
            value.get("messages", [])
        )
    for update in TELEGRAM:
        assert _telegram(body_of(update), ItemCheckingConversations()).outcome == "stored"
    assert _email(body_of(EMAIL), ItemCheckingConversations()).outcome == "stored"


@pytest.mark.parametrize("channel", ["whatsapp", "telegram", "email"])
def test_every_place_of_every_sample_with_every_kind_of_value_is_refused_or_stored_within_limits(
    channel: str,
) -> None:
    """The sweep the properties above sample from, done in full for one change at a time (~1 s)."""
    receive: Callable[[bytes, ItemCheckingConversations], Any] = {
        "whatsapp": _whatsapp,
        "telegram": _telegram,
        "email": _email,
    }[channel]
    payloads = {"whatsapp": WHATSAPP, "telegram": TELEGRAM, "email": [EMAIL]}[channel]
    for payload in payloads:
        for at in locations(payload):
            for value in EVERY_KIND:
                if value is DROP and isinstance(at[-1], int):
                    continue
                store, body = ItemCheckingConversations(), body_of(with_value(payload, at, value))
                _check(lambda: receive(body, store), store)  # noqa: B023 - called at once
