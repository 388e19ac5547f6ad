"""Who a lead is: their phone number in E.164 (the key leads are deduplicated by; with no phone known, their
email address), the lead id derived from the account and that key, and how long a silence lasts before a
new message re-engages the lead."""

from __future__ import annotations

from datetime import timedelta

from leadhub.platform.ids import derived_id

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


def to_e164(raw: str, default_region: str) -> str:
    """`raw` as E.164; national numbers are read in `default_region`. ValueError when not a valid number."""
    # Imported on first use: functions that only read leads (the management API) skip it at cold start.
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise ValueError(
            f"not a phone number (use E.164, e.g. +14155552671; region {default_region})"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"not a valid phone number (use E.164, e.g. +14155552671; region {default_region})")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
