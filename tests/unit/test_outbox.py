"""Which subscriber facts a change to a stored lead means."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadhub.leads.intake import parse_lead_submission
from leadhub.leads.leads import merge_lead, new_lead
from leadhub.outbound.outbox import lead_facts

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def submission(**fields):
    return parse_lead_submission({"phone": "+14155552671", **fields}, "US")


def test_a_new_lead_is_lead_created_with_the_lead_as_data() -> None:
    lead = new_lead("acc_1", submission(name="Ada"), NOW, "webhook")
    [fact] = lead_facts(None, lead)
    assert (fact.event, fact.account_id, fact.subject_id, fact.occurred_at) == (
        "lead.created",
        "acc_1",
        lead.lead_id,
        "2026-11-23T09:00:00.000Z",
    )
    assert fact.data == lead.to_public()


def test_changed_fields_are_lead_updated_naming_them() -> None:
    old = new_lead("acc_1", submission(name="Ada"), NOW, "webhook")
    new, _ = merge_lead(old, submission(name="Ada King", tags=["vip"], x="1"), NOW + timedelta(hours=1))
    [fact] = lead_facts(old, new)
    assert fact.event == "lead.updated"
    assert fact.data["changedFields"] == ["name", "tags", "customFields"]
    assert fact.occurred_at == "2026-11-23T10:00:00.000Z"


def test_activity_alone_is_no_fact() -> None:
    old = new_lead("acc_1", submission(name="Ada"), NOW, "webhook")
    new, _ = merge_lead(old, submission(name="Ada"), NOW + timedelta(hours=1))
    assert lead_facts(old, new) == []


def test_a_re_engagement_is_lead_re_engaged_with_the_silence() -> None:
    old = new_lead("acc_1", submission(), NOW, "webhook")
    new, _ = merge_lead(old, submission(), NOW + timedelta(days=45))
    [fact] = lead_facts(old, new)
    assert fact.event == "lead.re_engaged"
    assert fact.data["previousActivityAt"] == "2026-11-23T09:00:00.000Z"
    assert fact.data["inactiveDays"] == 45


def test_a_re_engagement_with_new_fields_is_both_facts() -> None:
    old = new_lead("acc_1", submission(), NOW, "webhook")
    new, _ = merge_lead(old, submission(name="Ada"), NOW + timedelta(days=31))
    assert [f.event for f in lead_facts(old, new)] == ["lead.updated", "lead.re_engaged"]


def test_a_deleted_lead_is_no_fact() -> None:
    old = new_lead("acc_1", submission(), NOW, "webhook")
    assert lead_facts(old, None) == []
