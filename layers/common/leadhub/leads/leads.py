"""Receiving leads: authenticate the token, validate, then create the lead or merge it (dedupe by phone)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from leadhub.accounts.audit import AuditEntry
from leadhub.accounts.ports import TokenOwners
from leadhub.accounts.webhook_tokens import token_owner
from leadhub.leads.identity import RE_ENGAGEMENT_AFTER, lead_id_for_identity
from leadhub.leads.intake import MAX_BODY_BYTES, decode_lead_payload, parse_lead_submission
from leadhub.leads.models import MAX_CUSTOM_FIELDS_PER_LEAD, MAX_TAGS_PER_LEAD, Lead
from leadhub.leads.ports import LeadRepository
from leadhub.leads.submission import LeadSubmission
from leadhub.platform.errors import NotFound, PayloadTooLarge, StorageUnavailable, Unauthorized
from leadhub.platform.paging import Page
from leadhub.platform.timestamps import from_iso, to_iso

_MERGE_ATTEMPTS = 4


@dataclass(frozen=True, slots=True)
class LeadReceipt:
    lead: Lead
    created: bool
    ignored_fields: tuple[str, ...] = ()

    def to_public(self) -> dict[str, object]:
        body: dict[str, object] = {"leadId": self.lead.lead_id, "created": self.created}
        if self.ignored_fields:
            body["ignoredFields"] = list(self.ignored_fields)
        return body


def receive_lead(
    token: str,
    body: bytes,
    content_type: str | None,
    *,
    owners: TokenOwners,
    leads: LeadRepository,
    now: datetime,
) -> LeadReceipt:
    """The lead webhook: 413, then 401, then 415/400, then one conditional write (two for a duplicate)."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"Body exceeds {MAX_BODY_BYTES} bytes")
    owner = token_owner(token, owners=owners)
    if owner is None:
        raise Unauthorized("Unknown webhook token")
    payload = decode_lead_payload(body, content_type)
    submission = parse_lead_submission(payload, owner.default_region)
    return upsert_lead(owner.account_id, submission, leads=leads, now=now, source="webhook")


def upsert_lead(
    account_id: str, submission: LeadSubmission, *, leads: LeadRepository, now: datetime, source: str
) -> LeadReceipt:
    """Create the lead, or merge the submission into the one with the same phone (with no phone: the same
    email address); safe under concurrency."""
    ignored = tuple(submission.ignored_fields)
    candidate = new_lead(account_id, submission, now, source)
    audit = AuditEntry(
        account_id, "lead.created", source, candidate.captured_at, target={"leadId": candidate.lead_id}
    )
    existing = leads.insert_new(candidate, audit)
    for _ in range(_MERGE_ATTEMPTS):
        if existing is None:
            return LeadReceipt(candidate, created=True, ignored_fields=ignored)
        merged, dropped = merge_lead(existing, submission, now)
        if leads.replace(merged, expected_version=existing.version):
            return LeadReceipt(merged, created=False, ignored_fields=ignored + dropped)
        existing = leads.get(account_id, existing.lead_id)
        if existing is None:  # deleted meanwhile: create it afresh
            existing = leads.insert_new(candidate, audit)
    raise StorageUnavailable("The lead is being updated concurrently; please retry")


def new_lead(account_id: str, submission: LeadSubmission, now: datetime, source: str) -> Lead:
    at = to_iso(now)
    return Lead(
        account_id=account_id,
        lead_id=lead_id_for_identity(account_id, submission.phone, submission.email),
        phone=submission.phone,
        name=submission.name,
        email=submission.email,
        tags=tuple(submission.tags),
        custom_fields=submission.custom_fields,
        source=source,
        captured_at=at,
        updated_at=at,
        last_activity_at=at,
    )


def merge_lead(existing: Lead, submission: LeadSubmission, now: datetime) -> tuple[Lead, tuple[str, ...]]:
    """New non-empty values win, tags and custom fields are added to; silence ≥ 30 days is a re-engagement.

    Returns the merged lead and the names of fields dropped because the lead is at its limits.
    """
    at = to_iso(now)
    tags = list(existing.tags)
    tags += [t for t in submission.tags if t not in existing.tags]
    custom = dict(existing.custom_fields)
    dropped: list[str] = []
    for key, value in submission.custom_fields.items():
        if key in custom or len(custom) < MAX_CUSTOM_FIELDS_PER_LEAD:
            custom[key] = value
        else:
            dropped.append(key)
    if len(tags) > MAX_TAGS_PER_LEAD:
        tags = tags[:MAX_TAGS_PER_LEAD]
        dropped.append("tags")
    merged = replace(
        existing,
        name=submission.name or existing.name,
        email=submission.email or existing.email,
        tags=tuple(tags),
        custom_fields=custom,
        last_activity_at=at,
        version=existing.version + 1,
    )
    if _business_fields(merged) != _business_fields(existing):
        merged = replace(merged, updated_at=at)
    if now - from_iso(existing.last_activity_at) >= RE_ENGAGEMENT_AFTER:
        merged = replace(merged, re_engaged_at=at, previous_activity_at=existing.last_activity_at)
    return merged, tuple(dropped)


def _business_fields(lead: Lead) -> tuple[object, ...]:
    return (lead.phone, lead.name, lead.email, lead.tags, dict(lead.custom_fields))


def get_lead(account_id: str, lead_id: str, *, leads: LeadRepository) -> Lead:
    lead = leads.get(account_id, lead_id)
    if lead is None:
        raise NotFound("Lead not found")
    return lead


def list_leads(account_id: str, limit: int, cursor: str | None, *, leads: LeadRepository) -> Page[Lead]:
    return leads.list_page(account_id, limit, cursor)
