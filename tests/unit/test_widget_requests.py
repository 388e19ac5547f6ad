"""Property tests of what the widget's public endpoints read from a visitor's browser (bodies, cursors,
tokens, origins): whatever arrives, the answer is a success or a precise 4xx, never anything else, and
nothing is half-written."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from leadhub.channels.web import requests, tokens
from leadhub.channels.web.origins import normalised_origin
from leadhub.channels.web.visitors import (
    WidgetCall,
    leave_contact,
    poll_messages,
    post_message,
    start_session,
)
from leadhub.platform.errors import InvalidRequest, LeadhubError
from tests import hostile_input as hostile
from tests.unit.test_widget import ORIGIN, SECRET, World

NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)

message_objects = hostile.objects_with(
    ["clientMessageId", "text", "website"],
    st.one_of(
        hostile.json_values,
        st.sampled_from(["m1", "a" * 64, "a" * 65, "m 1", "", "Hello", "x" * 2000, "x" * 2001]),
    ),
)
contact_objects = hostile.objects_with(
    ["name", "email", "phone", "pageUrl", "referrer", "website"],
    st.one_of(
        hostile.json_values,
        hostile.phones,
        st.sampled_from(
            [
                "ada@example.com",
                "Ada@Example.COM",
                "ada@",
                "https://shop.example/p?utm_source=x&utm_source=y",
                "http://[::1",
                "javascript:alert(1)",
                "https://" + "a" * 995,
            ]
        ),
    ),
)


def refused_as_the_client_s_fault(error: LeadhubError) -> bool:
    return 400 <= error.status_code < 500 and error.status_code != 429


def visitor_call(world: World) -> WidgetCall:
    return world.visitor()


@given(request=hostile.requests(message_objects))
def test_any_message_body_is_stored_or_refused_with_a_4xx(request: hostile.Request) -> None:
    world = World()
    call = visitor_call(world)
    try:
        receipt = post_message(call, request.body, request.content_type, **world.sending(), now=NOW)
    except LeadhubError as error:
        assert refused_as_the_client_s_fault(error), error
        assert world.store.messages == {} and world.store.conversations == {}
        return
    assert receipt.stored
    [message] = world.store.messages.values()
    assert message.text and len(message.text) <= requests.MAX_MESSAGE_CHARS
    message.text.encode()  # storable text: no unpaired surrogates


@given(request=hostile.requests(contact_objects))
def test_any_contact_body_makes_a_lead_or_is_refused_with_a_4xx(request: hostile.Request) -> None:
    world = World()
    call = visitor_call(world)
    try:
        leave_contact(call, request.body, request.content_type, **world.capturing(), now=NOW)
    except LeadhubError as error:
        assert refused_as_the_client_s_fault(error), error
        assert world.leads.leads == {}
        return
    [lead] = world.leads.leads.values()
    assert lead.phone or lead.email
    assert all(len(value) <= 1000 for value in lead.custom_fields.values())


@given(request=hostile.requests(st.just({})))
def test_any_session_body_opens_a_session_or_is_refused_with_a_4xx(request: hostile.Request) -> None:
    world = World()
    try:
        start_session(world.call(), request.body, request.content_type, **world.sending(), now=NOW)
    except LeadhubError as error:
        assert refused_as_the_client_s_fault(error), error


@given(cursor=st.one_of(st.none(), st.text(max_size=500), st.binary(max_size=80).map(lambda b: b.hex())))
def test_any_cursor_is_read_or_refused_with_a_400(cursor: str | None) -> None:
    world = World()
    call = visitor_call(world)
    try:
        poll_messages(call, cursor, **world.polling(), now=NOW)
    except InvalidRequest as error:
        assert [d.field for d in error.details] == ["X-Leadhub-After"]


@given(conversation=st.from_regex(r"conv_[0-9a-z]{26}", fullmatch=True), position=st.text(min_size=1))
def test_a_cursor_we_hand_out_reads_back(conversation: str, position: str) -> None:
    if not position.isprintable():
        return
    assert requests.parse_cursor(requests.encode_cursor(conversation, position)) == (conversation, position)


@given(token=st.one_of(st.none(), st.text(max_size=120)), account=st.sampled_from(["acc_1", "acc_2"]))
def test_tokens_that_are_not_ours_are_simply_not_valid(token: str | None, account: str) -> None:
    visitor = tokens.visitor_of(SECRET, account, token)
    assert visitor is None or tokens.visitor_token(SECRET, account, visitor) == token
    assert not tokens.page_token_valid(SECRET, account, "vis_" + "0" * 26, token, NOW)


@given(text=st.text(max_size=80) | st.sampled_from(["http://[::1]:8080", "HTTPS://A.example:443", ORIGIN]))
def test_an_origin_is_normalised_once_or_refused(text: str) -> None:
    try:
        origin = normalised_origin(text)
    except ValueError:
        return
    assert normalised_origin(origin) == origin
    assert origin.startswith(("http://", "https://")) and "/" not in origin.split("://", 1)[1]


def test_an_empty_body_is_an_empty_request() -> None:
    assert requests.request_object(b"", None) == {}
    assert requests.request_object(json.dumps({"a": 1}).encode(), "application/json; charset=utf-8") == {
        "a": 1
    }
