"""Connecting email and sending it: the domain registered for receiving as well as sending, verification
reported as Resend gives it (asynchronous), which Resend refusals pass with time, and the sender's name
as RFC 5322 has it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.headerregistry import HeaderRegistry

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadhub.adapters.channel_senders import from_header
from leadhub.adapters.provider_api import ProviderAnswer
from leadhub.adapters.resend_api import resend_message, resend_refusal_passes
from leadhub.domain.email_integration import (
    connect_email,
    show_email_integration,
    verify_email_domain,
)
from leadhub.errors import InvalidRequest
from leadhub.models.conversation import Channel
from tests.fakes import InMemoryIntegrations, InMemoryResendDomains

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
ACCOUNT = "acc_mail"


@pytest.fixture
def domains() -> InMemoryResendDomains:
    return InMemoryResendDomains()


@pytest.fixture
def integrations() -> InMemoryIntegrations:
    return InMemoryIntegrations()


def connect(domains: InMemoryResendDomains, integrations: InMemoryIntegrations, now: datetime = NOW):
    return connect_email(
        ACCOUNT,
        "hello@Acme.test",
        "Acme",
        domains=domains,
        integrations=integrations,
        actor="key_1",
        now=now,
    )


def test_a_new_domain_is_registered_for_receiving_and_its_receiving_record_is_listed(
    domains, integrations
) -> None:
    integration, records = connect(domains, integrations)
    assert domains.calls == [("create_domain", "acme.test")]
    assert "Receiving" in {r["record"] for r in records}
    assert {k: integration.settings[k] for k in ("domain", "domainStatus", "receiving")} == {
        "domain": "acme.test",
        "domainStatus": "not_started",
        "receiving": "enabled",
    }
    assert integration.settings["domainStatusCheckedAt"] == "2026-05-04T12:00:00.000Z"


@pytest.mark.parametrize("receiving", [False, True])
def test_a_domain_resend_has_already_gets_receiving_only_when_it_lacks_it(
    domains, integrations, receiving: bool
) -> None:
    earlier = domains.add("acme.test", receiving=receiving, status="verified")
    integration, records = connect(domains, integrations)
    enabled = [call for call in domains.calls if call[0] == "enable_sending_and_receiving"]
    assert enabled == ([] if receiving else [("enable_sending_and_receiving", earlier["id"])])
    assert integration.settings["receiving"] == "enabled"
    expected = "verified" if receiving else "not_started"  # a new record is checked once verify asks
    assert {r["record"]: r["status"] for r in records}["Receiving"] == expected


def test_a_refusal_other_than_registered_already_is_resends_message_in_a_400(domains, integrations) -> None:
    domains.refuse["create_domain"] = 422
    with pytest.raises(InvalidRequest) as refused:
        connect(domains, integrations)
    assert refused.value.details[0].message == "Resend: create_domain refused"
    assert integrations.get(ACCOUNT, Channel.EMAIL) is None


def test_verify_reports_the_state_resend_gives_right_after_asking(domains, integrations) -> None:
    connected, _ = connect(domains, integrations)
    later = NOW + timedelta(minutes=5)

    verified, records = verify_email_domain(
        ACCOUNT, domains=domains, integrations=integrations, actor="key_1", now=later
    )

    assert verified.settings["domainStatus"] == "pending"
    assert {r["status"] for r in records} == {"pending"}
    assert verified.settings["verificationRequestedAt"] == "2026-05-04T12:05:00.000Z"
    assert integrations.get(ACCOUNT, Channel.EMAIL) == verified
    assert integrations.audit[-1].action == "integration.verification_requested"
    assert connected.settings["domainId"] == verified.settings["domainId"]


def test_showing_asks_resend_and_falls_back_to_the_stored_state_when_it_cannot_answer(
    domains, integrations
) -> None:
    connected, _ = connect(domains, integrations)
    verify_email_domain(ACCOUNT, domains=domains, integrations=integrations, actor="key_1", now=NOW)
    domains.finish_checking(connected.settings["domainId"])
    later = NOW + timedelta(hours=1)

    stored, observed = show_email_integration(ACCOUNT, domains=domains, integrations=integrations, now=later)
    assert (observed["domainStatus"], observed["domainStatusCheckedAt"]) == (
        "verified",
        "2026-05-04T13:00:00.000Z",
    )
    assert {r["status"] for r in observed["dnsRecords"]} == {"verified"}
    assert stored.settings["domainStatus"] == "pending"  # showing changes nothing stored

    for refuse, unavailable in (({"get_domain": 429}, set()), ({}, {"get_domain"})):
        domains.refuse, domains.unavailable = refuse, unavailable
        _, observed = show_email_integration(ACCOUNT, domains=domains, integrations=integrations, now=later)
        assert list(observed) == ["domainStatusRefreshError"]
        assert observed["domainStatusRefreshError"].startswith("Resend: ")


@given(name=st.text(st.characters(exclude_categories=["Cc", "Cs"]), min_size=1, max_size=100))
def test_any_name_the_api_accepts_is_read_back_from_the_from_header_as_it_was(name: str) -> None:
    parsed = HeaderRegistry()("from", from_header(name, "hello@acme.test"))
    assert not parsed.defects
    [mailbox] = parsed.addresses
    assert (mailbox.display_name, mailbox.addr_spec) == (name.strip(), "hello@acme.test")


def test_a_from_without_a_name_is_the_bare_address() -> None:
    assert from_header("  ", "hello@acme.test") == "hello@acme.test"


@pytest.mark.parametrize(
    ("status", "name", "passes"),
    [
        (429, "rate_limit_exceeded", True),
        (429, "daily_quota_exceeded", True),
        (409, "concurrent_idempotent_requests", True),
        (409, "invalid_idempotent_request", False),
        (409, None, False),
        (422, "validation_error", False),
        (400, "invalid_idempotency_key", False),
        (401, "missing_api_key", False),
        (404, "not_found", False),
    ],
)
def test_only_rate_limits_and_a_still_running_first_request_pass_with_time(
    status: int, name: str | None, passes: bool
) -> None:
    body = {"statusCode": status, "message": "m"} | ({"name": name} if name else {})
    answer = ProviderAnswer(status, body)
    assert resend_refusal_passes(answer) is passes
    assert resend_message(answer) == (f"{name}: m" if name else "m")
