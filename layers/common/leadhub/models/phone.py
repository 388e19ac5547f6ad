"""Phone numbers in E.164, the key leads are deduplicated by."""

from __future__ import annotations


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
