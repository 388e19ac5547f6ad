"""The audit log."""

from __future__ import annotations

from schemas import Schema


class AuditEntryOut(Schema):
    entryId: str
    action: str
    source: str
    at: str
    actor: str | None
    target: dict[str, str]


class AuditPageOut(Schema):
    items: list[AuditEntryOut]
    nextCursor: str | None
