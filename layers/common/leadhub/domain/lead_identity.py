"""Who a lead is: its id derived from the account and the person's phone (or, with no phone known, their
email address), and when silence ends in a re-engagement. Kept apart from lead intake so the channel
webhooks need not import its pydantic model."""

from __future__ import annotations

from datetime import timedelta

from leadhub.ids import derived_id

RE_ENGAGEMENT_AFTER = timedelta(days=30)


def lead_id_for_phone(account_id: str, phone: str) -> str:
    return derived_id("lead", account_id, "phone", phone)


def lead_id_for_email(account_id: str, email: str) -> str:
    """The lead of someone known by their email address only: the same id the email channel gives the
    sender of an inbound email (its identity there is the lower-cased address)."""
    return derived_id("lead", account_id, "email", email.lower())


def lead_id_for_identity(account_id: str, phone: str | None, email: str | None) -> str:
    """Dedupe by phone, and by email when there is no phone. ValueError when there is neither."""
    if phone:
        return lead_id_for_phone(account_id, phone)
    if email:
        return lead_id_for_email(account_id, email)
    raise ValueError("a lead needs a phone or an email address")
