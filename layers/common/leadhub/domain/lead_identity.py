"""Who a lead is: its id derived from the account and the person's phone, and when silence ends in a
re-engagement. Kept apart from lead intake so the channel webhooks need not import its pydantic model."""

from __future__ import annotations

from datetime import timedelta

from leadhub.platform.ids import derived_id

RE_ENGAGEMENT_AFTER = timedelta(days=30)


def lead_id_for_phone(account_id: str, phone: str) -> str:
    return derived_id("lead", account_id, "phone", phone)
