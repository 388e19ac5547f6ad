"""WhatsApp webhooks: signature, handshake, every message type, statuses, routing, dedupe (no network)."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from leadhub.channels.whatsapp.notifications import (
    answer_subscription,
    check_signature,
    normalise_message,
    receive_whatsapp,
)
from leadhub.conversations.conversations import record_inbound
from leadhub.conversations.models import Channel, Direction, Message
from leadhub.leads.identity import lead_id_for_phone
from leadhub.leads.intake import parse_lead_submission
from leadhub.leads.leads import upsert_lead
from leadhub.outbound.outbox import lead_facts
from leadhub.platform.errors import (
    Forbidden,
    InvalidRequest,
    PayloadTooLarge,
    SecretNotConfigured,
    Unauthorized,
)
from tests.fakes import InMemoryConversations, InMemoryLeads, InMemoryRoutes

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "whatsapp"
SECRET = "app-secret"
PHONE_NUMBER_ID = "1122334455667"
ACCOUNT = "acc_1"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / f"{name}.json").read_text())


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def with_message(message: dict[str, Any], contact_name: str = "Test Name") -> dict[str, Any]:
    payload = sample("text-pywa")
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"] = [message]
    value["contacts"][0]["profile"]["name"] = contact_name
    return payload


@pytest.fixture
def store() -> InMemoryConversations:
    return InMemoryConversations()


@pytest.fixture
def routes() -> InMemoryRoutes:
    return InMemoryRoutes({(Channel.WHATSAPP, PHONE_NUMBER_ID): ACCOUNT})


def receive(store, routes, payload: Any, *, secret: str | None = SECRET, signature: str | None = None, **kw):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return receive_whatsapp(
        body,
        sign(body) if signature is None else signature,
        app_secret=secret,
        skip_signature_check=kw.get("skip", False),
        routes=routes,
        store=store,
        now=kw.get("now", NOW),
    )


# -- authenticity -----------------------------------------------------------------------------


def test_metas_own_known_answer_vector_verifies() -> None:
    source = (SAMPLES / "sigvec-meta-nodejs-sdk.source.txt").read_text()
    expected = source.split("expected hex digest: ")[1].split()[0]
    body = (SAMPLES / "sigvec-meta-nodejs-sdk.body.txt").read_bytes()
    assert body == b"test"
    check_signature(body, f"sha256={expected}", "TEST_APP_SECRET")
    with pytest.raises(Unauthorized):
        check_signature(body + b" ", f"sha256={expected}", "TEST_APP_SECRET")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "Missing X-Hub-Signature-256 header"),
        ("", "Missing X-Hub-Signature-256 header"),
        ("sha256=" + "0" * 64, "Invalid X-Hub-Signature-256 signature"),
        ("sha1=abc", "Invalid X-Hub-Signature-256 signature"),
        ("garbage", "Invalid X-Hub-Signature-256 signature"),
    ],
)
def test_missing_or_wrong_signatures_are_401_and_store_nothing(store, routes, header, message) -> None:
    body = json.dumps(sample("text-pywa")).encode()
    with pytest.raises(Unauthorized, match=message):
        receive_whatsapp(
            body, header, app_secret=SECRET, skip_signature_check=False, routes=routes, store=store, now=NOW
        )
    assert store.commits == 0 and routes.lookups == 0


def test_the_signature_covers_the_exact_bytes(store, routes) -> None:
    body = json.dumps(sample("text-pywa")).encode()
    reformatted = json.dumps(sample("text-pywa"), indent=2).encode()
    with pytest.raises(Unauthorized):
        receive(store, routes, reformatted, signature=sign(body))
    assert (
        receive(store, routes, body, signature=sign(body).upper().replace("SHA256=", "sha256=")).stored == 1
    )


def test_without_an_app_secret_posts_are_refused_with_503_unless_the_dev_setting_is_on(store, routes) -> None:
    with pytest.raises(SecretNotConfigured):
        receive(store, routes, sample("text-pywa"), secret=None, signature="")
    assert store.commits == 0
    assert receive(store, routes, sample("text-pywa"), secret=None, signature="", skip=True).stored == 1


def test_the_dev_setting_never_skips_the_check_when_a_secret_is_configured(store, routes) -> None:
    with pytest.raises(Unauthorized):
        receive(store, routes, sample("text-pywa"), signature="", skip=True)


def test_the_subscription_handshake_echoes_the_challenge() -> None:
    params = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "meatyhamhock"}
    assert answer_subscription(params, "meatyhamhock") == "1158201444"


@pytest.mark.parametrize(
    ("params", "configured"),
    [
        ({"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "wrong"}, "meatyhamhock"),
        (
            {"hub.mode": "unsubscribe", "hub.challenge": "1", "hub.verify_token": "meatyhamhock"},
            "meatyhamhock",
        ),
        ({"hub.challenge": "1"}, "meatyhamhock"),
        ({"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": ""}, None),
    ],
)
def test_a_wrong_handshake_is_403(params, configured) -> None:
    with pytest.raises(Forbidden):
        answer_subscription(params, configured)


# -- bodies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "Body is not valid JSON"),
        (b"[]", "Not a WhatsApp notification"),
        (b'{"entry": []}', "Not a WhatsApp notification: object"),
        (b'{"object": "x", "entry": [{"changes": [{"field": "messages", "value": 3}]}]}', "entry.0.changes"),
        (b"\xff\xfe", "Body is not valid JSON"),
    ],
)
def test_signed_bodies_that_are_not_notifications_are_400(store, routes, body, message) -> None:
    with pytest.raises(InvalidRequest, match=message):
        receive(store, routes, body)
    assert store.commits == 0


def test_oversized_bodies_are_413_before_anything_else(store, routes) -> None:
    with pytest.raises(PayloadTooLarge):
        receive(store, routes, b" " * (1024 * 1024 + 1), signature="")


# -- messages ---------------------------------------------------------------------------------


def test_a_text_creates_lead_conversation_and_message(store, routes) -> None:
    receipt = receive(store, routes, sample("text-pywa"))

    assert receipt.to_log() == {"stored": 1, "duplicates": 0, "statuses": 0, "ignored": 0}
    lead = store.get_lead(ACCOUNT, lead_id_for_phone(ACCOUNT, "+972987654321"))
    assert lead is not None
    assert (lead.phone, lead.name, lead.source, dict(lead.channel_ids)) == (
        "+972987654321",
        "Test Name",
        "whatsapp",
        {"whatsapp": "+972987654321"},
    )
    [conversation] = store.conversations.values()
    assert (conversation.lead_id, conversation.channel, conversation.status.value) == (
        lead.lead_id,
        Channel.WHATSAPP,
        "open",
    )
    assert dict(conversation.route) == {"phoneNumberId": PHONE_NUMBER_ID, "waId": "972987654321"}
    [message] = store.messages.values()
    assert (message.type, message.text, message.direction, message.provider_message_id) == (
        "text",
        "Body Text",
        Direction.INBOUND,
        "wamid.xyzxyz",
    )
    assert message.sent_at == "2023-10-11T16:53:43.000Z"  # the provider's timestamp, 1697043223


def test_a_redelivered_notification_is_acknowledged_and_stores_nothing(store, routes) -> None:
    receive(store, routes, sample("text-pywa"))
    again = receive(store, routes, sample("text-pywa"))
    assert again.to_log() == {"stored": 0, "duplicates": 1, "statuses": 0, "ignored": 0}
    assert len(store.messages) == 1


def test_later_messages_join_the_open_conversation(store, routes) -> None:
    receive(store, routes, sample("text-pywa"))
    later = with_message(
        {**sample("text-pywa")["entry"][0]["changes"][0]["value"]["messages"][0], "id": "wamid.2"}
    )
    receive(store, routes, later)
    [conversation] = store.conversations.values()
    assert conversation.message_count == 2
    assert {m.conversation_id for m in store.messages.values()} == {conversation.conversation_id}


def test_the_writer_is_the_same_lead_as_a_crm_posted_one_with_that_phone() -> None:
    leads = InMemoryLeads()
    submission = parse_lead_submission({"phone": "(415) 555-2671", "name": "From CRM"}, "US")
    crm = upsert_lead(ACCOUNT, submission, leads=leads, now=NOW, source="webhook").lead
    store = InMemoryConversations(leads)
    routes = InMemoryRoutes({(Channel.WHATSAPP, PHONE_NUMBER_ID): ACCOUNT})
    payload = sample("text-pywa")
    value = payload["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = value["messages"][0]["from"] = "14155552671"

    receive(store, routes, payload)

    lead = store.get_lead(ACCOUNT, crm.lead_id)
    assert lead is not None and len(leads.leads) == 1
    assert (lead.name, lead.source, lead.version) == ("From CRM", "webhook", crm.version + 1)
    assert lead.open_conversations["whatsapp"] == next(iter(store.conversations.values())).conversation_id


def test_a_writer_back_after_30_days_is_re_engaged_with_when_they_last_wrote(store, routes) -> None:
    receive(store, routes, sample("text-pywa"), now=NOW)
    lead_id = lead_id_for_phone(ACCOUNT, "+972987654321")
    before = store.get_lead(ACCOUNT, lead_id)
    assert before is not None and before.last_conversation_at == "2026-11-23T12:00:00.000Z"
    back = NOW + timedelta(days=40)
    later = with_message(
        {**sample("text-pywa")["entry"][0]["changes"][0]["value"]["messages"][0], "id": "wamid.2"}
    )

    receive(store, routes, later, now=back)

    after = store.get_lead(ACCOUNT, lead_id)
    assert after is not None and after.last_conversation_at == "2027-01-02T12:00:00.000Z"
    [fact] = lead_facts(before, after)
    assert fact.event == "lead.re_engaged"
    assert (fact.data["lastConversationAt"], fact.data["inactiveDays"]) == ("2026-11-23T12:00:00.000Z", 40)


def test_a_crm_lead_who_never_wrote_has_no_last_conversation() -> None:
    leads = InMemoryLeads()
    submission = parse_lead_submission({"phone": "+14155552671"}, "US")
    crm = upsert_lead(ACCOUNT, submission, leads=leads, now=NOW, source="webhook").lead
    back = upsert_lead(ACCOUNT, submission, leads=leads, now=NOW + timedelta(days=31), source="webhook").lead
    [fact] = lead_facts(crm, back)
    assert fact.event == "lead.re_engaged"
    assert fact.data["lastConversationAt"] is None


def test_every_entry_and_change_is_handled_and_unknown_numbers_are_ignored(store, routes) -> None:
    payload = sample("text-pywa")
    entry = payload["entry"][0]
    second = copy.deepcopy(entry["changes"][0])
    second["value"]["messages"][0]["id"] = "wamid.second-change"
    stranger = copy.deepcopy(entry["changes"][0])
    stranger["value"]["metadata"]["phone_number_id"] = "999"  # Meta's dashboard test number
    other_entry = copy.deepcopy(entry)
    other_entry["changes"][0]["value"]["messages"][0]["id"] = "wamid.other-entry"
    template_status = {"field": "message_template_status_update", "value": {"event": "APPROVED"}}
    entry["changes"] += [second, stranger, template_status]
    payload["entry"].append(other_entry)

    receipt = receive(store, routes, payload)

    assert receipt.to_log() == {"stored": 3, "duplicates": 0, "statuses": 0, "ignored": 2}
    assert {m.provider_message_id for m in store.messages.values()} == {
        "wamid.xyzxyz",
        "wamid.second-change",
        "wamid.other-entry",
    }


def test_messages_without_an_id_or_sender_are_skipped_not_refused(store, routes) -> None:
    payload = with_message({"type": "text", "text": {"body": "x"}, "timestamp": "1"})
    assert receive(store, routes, payload).to_log()["ignored"] == 1
    assert store.commits == 0


def _message(kind: str, body: Any = None, **extra: Any) -> dict[str, Any]:
    message = {"from": "972987654321", "id": f"wamid.{kind}", "timestamp": "1698266730", "type": kind}
    if body is not None:
        message[kind] = body
    return {**message, **extra}


NORMALISED = [
    (_message("text", {"body": "hi"}), ("text", "hi", {})),
    (
        sample("image-pywa")["entry"][0]["changes"][0]["value"]["messages"][0],
        ("image", None, {"mediaId": "65463453", "mimeType": "image/jpeg", "sha256": "4654+8g="}),
    ),
    (
        _message("video", {"id": "v1", "mime_type": "video/mp4", "caption": "look"}),
        ("video", "look", {"mediaId": "v1", "mimeType": "video/mp4", "caption": "look"}),
    ),
    (
        _message("audio", {"id": "a1", "mime_type": "audio/ogg", "voice": True}),
        ("audio", None, {"mediaId": "a1", "mimeType": "audio/ogg", "voice": True}),
    ),
    (
        _message("document", {"id": "d1", "filename": "quote.pdf", "caption": "quote"}),
        ("document", "quote", {"mediaId": "d1", "filename": "quote.pdf", "caption": "quote"}),
    ),
    (
        _message("sticker", {"id": "s1", "mime_type": "image/webp", "animated": False}),
        ("sticker", None, {"mediaId": "s1", "mimeType": "image/webp", "animated": False}),
    ),
    (
        sample("interactive-button-reply-pywa")["entry"][0]["changes"][0]["value"]["messages"][0],
        (
            "button_reply",
            "title",
            {
                "id": "callback_data",
                "title": "title",
                "replyTo": {"messageId": "wamid.xyzxyz", "from": "1122334455667"},
            },
        ),
    ),
    (
        _message(
            "interactive",
            {"type": "list_reply", "list_reply": {"id": "r1", "title": "Red", "description": "d"}},
        ),
        ("list_reply", "Red", {"id": "r1", "title": "Red", "description": "d"}),
    ),
    (
        _message("interactive", {"type": "nfm_reply", "nfm_reply": {"body": "Sent", "response_json": "{}"}}),
        ("flow_reply", "Sent", {"responseJson": "{}"}),
    ),
    (
        _message("button", {"payload": "YES", "text": "Yes please"}),
        ("button", "Yes please", {"payload": "YES", "text": "Yes please"}),
    ),
    (
        _message("reaction", {"message_id": "wamid.out", "emoji": "👍"}),
        ("reaction", "👍", {"messageId": "wamid.out", "emoji": "👍"}),
    ),
    (
        _message("reaction", {"message_id": "wamid.out", "emoji": ""}),
        ("reaction", None, {"messageId": "wamid.out", "emoji": None}),
    ),
    (
        _message("location", {"latitude": 52.5, "longitude": 13.4, "name": "HQ", "address": "Main St 1"}),
        ("location", None, {"latitude": 52.5, "longitude": 13.4, "name": "HQ", "address": "Main St 1"}),
    ),
    (
        _message(
            "contacts", None, contacts=[{"name": {"formatted_name": "Bo"}, "phones": [{"phone": "+1"}]}]
        ),
        ("contacts", None, {"contacts": [{"name": {"formatted_name": "Bo"}, "phones": [{"phone": "+1"}]}]}),
    ),
    (
        _message(
            "order", {"catalog_id": "c1", "product_items": [{"product_retailer_id": "p1"}], "text": "asap"}
        ),
        ("order", "asap", {"catalogId": "c1", "productItems": [{"product_retailer_id": "p1"}]}),
    ),
    (
        _message(
            "unsupported",
            None,
            errors=[{"code": 131051, "title": "Message type unknown", "error_data": {"details": "poll"}}],
        ),
        (
            "unsupported",
            None,
            {"errors": [{"code": 131051, "title": "Message type unknown", "details": "poll"}]},
        ),
    ),
    (_message("hologram", {"beam": 1}), ("hologram", None, {"raw": {"beam": 1}})),
    (
        _message("interactive", {"type": "carousel"}),
        ("interactive.carousel", None, {"raw": {"type": "carousel"}}),
    ),
    ({"from": "1", "id": "wamid.none"}, ("unknown", None, {})),
]


@pytest.mark.parametrize(
    ("raw", "expected"), NORMALISED, ids=[e[0] + str(i) for i, (_, e) in enumerate(NORMALISED)]
)
def test_every_message_type_is_normalised(raw, expected) -> None:
    assert normalise_message(raw) == expected


def test_every_message_type_is_stored_never_refused(store, routes) -> None:
    payload = sample("text-pywa")
    payload["entry"][0]["changes"][0]["value"]["messages"] = [
        {**raw, "id": f"wamid.{i}", "from": "972987654321"} for i, (raw, _) in enumerate(NORMALISED)
    ]
    receipt = receive(store, routes, payload)
    assert receipt.stored == len(NORMALISED)
    types = sorted(m.type for m in store.messages.values())
    assert types == sorted(expected[0] for _, expected in NORMALISED)


def test_a_sender_without_a_phone_number_is_keyed_by_their_user_id(store, routes) -> None:
    payload = with_message(
        {"from_user_id": "US.123", "id": "wamid.u", "timestamp": "1", "type": "text", "text": {"body": "x"}}
    )
    receive(store, routes, payload)
    [lead] = store.lead_store.leads.values()
    assert (lead.phone, dict(lead.channel_ids)) == (None, {"whatsapp": "US.123"})


BSUID = "US.13491208655302741918"  # Meta's example business-scoped user id


def test_a_user_with_a_username_and_no_number_is_a_lead_by_their_business_scoped_id(store, routes) -> None:
    assert receive(store, routes, sample("text-username-bsuid-meta-docs")).stored == 1
    [lead] = store.lead_store.leads.values()
    assert (lead.phone, lead.name, dict(lead.channel_ids), dict(lead.usernames)) == (
        None,
        "Sheena Nelson",  # contacts[] names them by user_id, not wa_id
        {"whatsapp": BSUID},
        {"whatsapp": "sheena.nelson"},
    )
    [conversation] = store.conversations.values()
    assert dict(conversation.route) == {"phoneNumberId": PHONE_NUMBER_ID, "userId": BSUID}


def test_the_same_person_stays_one_lead_when_their_number_appears_later(store, routes) -> None:
    receive(store, routes, sample("text-username-bsuid-meta-docs"))
    [first] = store.lead_store.leads.values()
    assert receive(store, routes, sample("text-phone-and-bsuid-meta-docs")).stored == 1
    [lead] = store.lead_store.leads.values()
    assert (lead.lead_id, lead.phone, dict(lead.channel_ids)) == (
        first.lead_id,
        "+16505551234",
        {"whatsapp": BSUID},
    )
    [conversation] = store.conversations.values()
    assert conversation.message_count == 2
    [fact] = lead_facts(first, lead)
    assert (fact.event, fact.data["changedFields"]) == ("lead.updated", ["phone"])


def test_a_number_known_before_keeps_its_lead_when_only_the_business_scoped_id_comes(store, routes) -> None:
    receive(store, routes, sample("text-phone-and-bsuid-meta-docs"))  # number and BSUID: keyed by number
    [lead] = store.lead_store.leads.values()
    assert lead.lead_id == lead_id_for_phone(ACCOUNT, "+16505551234")
    hidden = sample("text-username-bsuid-meta-docs")  # later the number is withheld
    assert receive(store, routes, hidden).stored == 1
    assert list(store.lead_store.leads) == [(ACCOUNT, lead.lead_id)]
    [conversation] = store.conversations.values()
    assert conversation.message_count == 2


def test_a_crm_lead_with_that_number_is_the_writer_who_also_has_a_business_scoped_id() -> None:
    leads = InMemoryLeads()
    submission = parse_lead_submission({"phone": "+16505551234", "name": "From CRM"}, "US")
    crm = upsert_lead(ACCOUNT, submission, leads=leads, now=NOW, source="webhook").lead
    store = InMemoryConversations(leads)
    receive(
        store,
        InMemoryRoutes({(Channel.WHATSAPP, PHONE_NUMBER_ID): ACCOUNT}),
        sample("text-phone-and-bsuid-meta-docs"),
    )
    assert list(leads.leads) == [(ACCOUNT, crm.lead_id)]
    assert store.find_identity(ACCOUNT, Channel.WHATSAPP, BSUID) == crm.lead_id


class LateClaims(InMemoryConversations):
    """A store whose first identity lookup misses a claim another delivery is committing meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.misses = 0

    def find_identity(self, account_id: str, channel: Channel, key: str) -> str | None:
        if self.misses:
            self.misses -= 1
            return None
        return super().find_identity(account_id, channel, key)


def test_a_business_scoped_id_claimed_meanwhile_is_found_on_the_retry(routes) -> None:
    store = LateClaims()
    receive(store, routes, sample("text-username-bsuid-meta-docs"))
    [lead] = store.lead_store.leads.values()
    store.misses = 1  # the next message (with a number) first resolves to the number's lead …
    assert receive(store, routes, sample("text-phone-and-bsuid-meta-docs")).stored == 1
    assert list(store.lead_store.leads) == [(ACCOUNT, lead.lead_id)]  # … its claim is refused: one lead


# -- statuses ---------------------------------------------------------------------------------


def outbound(store: InMemoryConversations, status: str = "sent") -> Message:
    """One of our replies, as the conversation engine stores it."""
    inbound = receive(
        store,
        InMemoryRoutes({(Channel.WHATSAPP, PHONE_NUMBER_ID): ACCOUNT}),
        with_message(_message("text", {"body": "hi"})),
    )
    assert inbound.stored == 1
    [first] = store.messages.values()
    message = Message(
        account_id=ACCOUNT,
        conversation_id=first.conversation_id,
        message_id="msg_out",
        lead_id=first.lead_id,
        channel=Channel.WHATSAPP,
        direction=Direction.OUTBOUND,
        type="text",
        sent_at="2023-10-25T20:46:00.000Z",
        received_at="2023-10-25T20:46:00.000Z",
        status=status,
        provider_message_id="wamid.xyzxyz",
        text="Thanks!",
    )
    store.add_message(message)
    return message


def test_statuses_update_our_message_in_order_and_never_move_back(store, routes) -> None:
    outbound(store)
    delivered = sample("status-delivered-pywa")
    read = copy.deepcopy(delivered)
    read["entry"][0]["changes"][0]["value"]["statuses"][0].update(status="read", timestamp="1698266999")

    assert receive(store, routes, read).statuses == 1
    assert receive(store, routes, delivered).statuses == 0  # arrived late: still "read"
    message = store.messages[(ACCOUNT, "msg_out")]
    assert (message.status, message.status_at) == ("read", "2023-10-25T20:49:59.000Z")


def test_a_failed_status_keeps_metas_errors(store, routes) -> None:
    outbound(store)
    assert receive(store, routes, sample("status-failed-pywa")).statuses == 1
    message = store.messages[(ACCOUNT, "msg_out")]
    assert message.status == "failed"
    assert message.errors == (
        {
            "code": 130472,
            "title": "User's number is part of an experiment",
            "message": "User's number is part of an experiment",
            "details": "Failed to send message because this user's phone number is part of an experiment",
        },
    )
    read = sample("status-delivered-pywa")
    read["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] = "read"
    assert receive(store, routes, read).statuses == 0  # failed is final


def test_statuses_of_a_message_sent_to_a_business_scoped_id_apply_and_keep_the_reason(store, routes) -> None:
    outbound(store)
    assert receive(store, routes, sample("status-delivered-bsuid-meta-docs")).statuses == 1
    assert store.messages[(ACCOUNT, "msg_out")].status == "delivered"
    assert receive(store, routes, sample("status-failed-131047-bsuid-meta-docs")).statuses == 1
    message = store.messages[(ACCOUNT, "msg_out")]
    assert (message.status, message.errors) == (
        "failed",
        (
            {
                "code": 131047,
                "title": "Re-engagement message",
                "message": "Re-engagement message",
                "details": "Message failed to send because more than 24 hours have passed since the customer "
                "last replied to this number.",
            },
        ),
    )


def test_statuses_of_messages_we_did_not_send_are_ignored(store, routes) -> None:
    assert receive(store, routes, sample("status-delivered-pywa")).to_log()["statuses"] == 0
    receive(store, routes, sample("text-pywa"))  # an inbound message with that very wamid
    assert receive(store, routes, sample("status-delivered-pywa")).statuses == 0


# -- races ------------------------------------------------------------------------------------


def test_a_lead_written_meanwhile_is_read_again(store) -> None:
    from leadhub.channels.whatsapp.notification_payload import read_notification
    from leadhub.channels.whatsapp.notifications import inbound_messages
    from leadhub.conversations.ports import CommitOutcome

    value = read_notification(sample("text-pywa")).entry[0].changes[0].value
    [message], _ = inbound_messages(ACCOUNT, value, NOW)
    store.interfere = [CommitOutcome.LEAD_CHANGED, CommitOutcome.CONVERSATION_GONE]
    receipt = record_inbound(message, store=store, now=NOW)
    assert receipt.stored and store.commits == 3


def test_errors_meta_reports_in_a_notification_are_surfaced_as_codes(store, routes) -> None:
    payload = sample("text-pywa")
    payload["entry"][0]["changes"][0]["value"]["errors"] = [
        {"code": 131000, "title": "Something went wrong", "message": "Something went wrong"}
    ]
    receipt = receive(store, routes, payload)
    assert (receipt.stored, receipt.error_codes) == (1, (131000,))
