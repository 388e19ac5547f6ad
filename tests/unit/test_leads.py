"""The lead webhook use case with in-memory ports: auth, dedupe, merge, re-engagement, audit."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from leadhub.accounts.models import TokenOwner
from leadhub.leads.identity import lead_id_for_phone
from leadhub.leads.leads import receive_lead
from leadhub.platform.errors import (
    InvalidRequest,
    PayloadTooLarge,
    StorageUnavailable,
    Unauthorized,
    UnsupportedMediaType,
)
from leadhub.platform.ids import token_hash
from tests.fakes import InMemoryAccounts, InMemoryLeads

TOKEN = "lht_" + "A" * 32
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def accounts() -> InMemoryAccounts:
    accounts = InMemoryAccounts()
    accounts.tokens[token_hash(TOKEN)] = TokenOwner("acc_1", "US")
    return accounts


@pytest.fixture
def leads() -> InMemoryLeads:
    return InMemoryLeads()


def post(
    accounts: InMemoryAccounts,
    leads: InMemoryLeads,
    body: dict | bytes,
    now: datetime = NOW,
    token: str = TOKEN,
):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return receive_lead(token, raw, "application/json", owners=accounts, leads=leads, now=now)


def test_a_new_phone_creates_a_lead_with_an_audit_entry(accounts, leads) -> None:
    receipt = post(accounts, leads, {"phone": "+14155552671", "name": "Ada", "tags": ["demo"], "utm": "x"})
    assert receipt.created
    lead = leads.get("acc_1", receipt.lead.lead_id)
    assert lead is not None
    assert (lead.phone, lead.name, lead.tags, dict(lead.custom_fields)) == (
        "+14155552671",
        "Ada",
        ("demo",),
        {"utm": "x"},
    )
    assert lead.captured_at == lead.last_activity_at == "2026-11-23T09:00:00.000Z"
    [audit] = leads.audit
    assert (audit.action, audit.source, dict(audit.target)) == (
        "lead.created",
        "webhook",
        {"leadId": lead.lead_id},
    )


def test_the_same_phone_in_any_spelling_is_the_same_lead(accounts, leads) -> None:
    first = post(accounts, leads, {"phone": "+14155552671"})
    again = post(accounts, leads, {"phone": "(415) 555-2671"}, NOW + timedelta(hours=1))
    assert not again.created
    assert again.lead.lead_id == first.lead.lead_id
    assert len(leads.leads) == 1
    assert len(leads.audit) == 1  # only the creation is audited


def test_lead_ids_are_per_account(accounts, leads) -> None:
    assert lead_id_for_phone("acc_1", "+14155552671") != lead_id_for_phone("acc_2", "+14155552671")


def test_a_duplicate_merges_new_non_empty_fields_and_tags(accounts, leads) -> None:
    post(
        accounts,
        leads,
        {"phone": "+14155552671", "name": "Ada", "email": "ada@example.com", "tags": "a,b", "x": "1"},
    )
    later = NOW + timedelta(days=1)
    receipt = post(
        accounts, leads, {"phone": "+14155552671", "name": "", "tags": ["b", "c"], "x": "2", "y": "3"}, later
    )
    lead = receipt.lead
    assert lead.name == "Ada"  # an empty value never clears
    assert lead.email == "ada@example.com"
    assert lead.tags == ("a", "b", "c")
    assert dict(lead.custom_fields) == {"x": "2", "y": "3"}
    assert lead.version == 2
    assert lead.updated_at == lead.last_activity_at == "2026-11-24T09:00:00.000Z"
    assert lead.captured_at == "2026-11-23T09:00:00.000Z"


def test_a_duplicate_with_nothing_new_only_records_activity(accounts, leads) -> None:
    post(accounts, leads, {"phone": "+14155552671", "name": "Ada"})
    lead = post(accounts, leads, {"phone": "+14155552671", "name": "Ada"}, NOW + timedelta(hours=2)).lead
    assert lead.updated_at == "2026-11-23T09:00:00.000Z"
    assert lead.last_activity_at == "2026-11-23T11:00:00.000Z"


def test_thirty_days_of_silence_then_a_post_is_a_re_engagement(accounts, leads) -> None:
    post(accounts, leads, {"phone": "+14155552671"})
    not_yet = post(accounts, leads, {"phone": "+14155552671"}, NOW + timedelta(days=29, hours=23)).lead
    assert not_yet.re_engaged_at is None
    back = NOW + timedelta(days=29, hours=23) + timedelta(days=30)
    lead = post(accounts, leads, {"phone": "+14155552671"}, back).lead
    assert lead.re_engaged_at == "2027-01-22T08:00:00.000Z"
    assert lead.previous_activity_at == not_yet.last_activity_at


def test_a_lead_keeps_at_most_100_custom_fields_and_reports_the_rest(accounts, leads) -> None:
    post(accounts, leads, {"phone": "+14155552671", **{f"a{i}": "v" for i in range(50)}})
    post(accounts, leads, {"phone": "+14155552671", **{f"b{i}": "v" for i in range(50)}})
    receipt = post(accounts, leads, {"phone": "+14155552671", "a1": "new", "c1": "v", "obj": {}})
    assert len(receipt.lead.custom_fields) == 100
    assert receipt.lead.custom_fields["a1"] == "new"
    assert receipt.to_public()["ignoredFields"] == ["obj", "c1"]


def test_a_lost_race_is_retried_on_fresh_state(accounts, leads) -> None:
    post(accounts, leads, {"phone": "+14155552671", "tags": ["a"]})
    leads.lost_races = 2
    receipt = post(accounts, leads, {"phone": "+14155552671", "tags": ["b"]})
    assert receipt.lead.version == 4
    assert receipt.lead.tags == ("a", "b")


def test_endless_contention_is_a_503_not_a_lost_update(accounts, leads) -> None:
    post(accounts, leads, {"phone": "+14155552671"})
    leads.lost_races = 100
    with pytest.raises(StorageUnavailable):
        post(accounts, leads, {"phone": "+14155552671", "name": "Ada"})


def test_a_lead_deleted_during_a_merge_is_created_again(accounts, leads) -> None:
    first = post(accounts, leads, {"phone": "+14155552671"})

    class Vanishing(InMemoryLeads):
        def replace(self, lead, expected_version):
            self.leads.clear()
            return False

    vanishing = Vanishing()
    vanishing.leads = dict(leads.leads)
    receipt = post(accounts, vanishing, {"phone": "+14155552671"})
    assert receipt.created
    assert receipt.lead.lead_id == first.lead.lead_id


@pytest.mark.parametrize("token", [TOKEN.replace("A", "B"), "nope", "lht_" + "A" * 31, TOKEN + "A", ""])
def test_unknown_or_malformed_tokens_are_refused_alike(accounts, leads, token: str) -> None:
    with pytest.raises(Unauthorized, match=r"^Unknown webhook token$"):
        post(accounts, leads, {"phone": "+14155552671"}, token=token)
    assert not leads.leads


def test_tokens_not_shaped_like_ours_cost_no_lookup(accounts, leads) -> None:
    with pytest.raises(Unauthorized):
        post(accounts, leads, {"phone": "+14155552671"}, token="../../etc/passwd")
    assert accounts.token_lookups == 0


def test_oversized_bodies_are_refused_before_the_token_lookup(accounts, leads) -> None:
    with pytest.raises(PayloadTooLarge):
        post(accounts, leads, b"{" + b" " * 65_536 + b"}")
    assert accounts.token_lookups == 0


def test_a_body_of_exactly_64_kib_is_accepted(accounts, leads) -> None:
    body = json.dumps({"phone": "+14155552671", "note": "x"}).encode()
    padded = body[:-1] + b" " * (65_536 - len(body)) + b"}"
    assert post(accounts, leads, padded).created


def test_authentication_comes_before_validation(accounts, leads) -> None:
    with pytest.raises(Unauthorized):
        receive_lead("nope", b"<xml/>", "application/xml", owners=accounts, leads=leads, now=NOW)
    with pytest.raises(UnsupportedMediaType):
        receive_lead(TOKEN, b"<xml/>", "application/xml", owners=accounts, leads=leads, now=NOW)


def test_invalid_input_writes_nothing(accounts, leads) -> None:
    with pytest.raises(InvalidRequest):
        post(accounts, leads, {"phone": "+14155552671", "email": "bad"})
    assert not leads.leads
    assert not leads.audit


def test_the_receipt_is_the_documented_body(accounts, leads) -> None:
    receipt = post(accounts, leads, {"phone": "+14155552671"})
    assert receipt.to_public() == {"leadId": receipt.lead.lead_id, "created": True}
    stored = leads.get("acc_1", receipt.lead.lead_id)
    assert stored is not None
    assert replace(stored) == receipt.lead
