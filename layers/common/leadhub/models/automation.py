"""Rules that answer conversations without a person: keyword or pattern → reply, and a greeting for a
conversation's first message. Evaluated in creation order; the first that matches answers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

MAX_PATTERN_CHARS = 200
MAX_REPLY_CHARS = 4096


class AutomationKind(StrEnum):
    KEYWORD = "keyword"  # the message contains the word or phrase (case-insensitive, whole words)
    PATTERN = "pattern"  # a regular expression matches somewhere in the message (case-insensitive)
    GREETING = "greeting"  # the first message of a conversation that no keyword or pattern answered


@dataclass(frozen=True, slots=True)
class Automation:
    account_id: str
    automation_id: str
    kind: AutomationKind
    reply: str
    created_at: str
    match: str | None = None
    enabled: bool = True

    def matches(self, text: str | None, first_message: bool) -> bool:
        if not self.enabled:
            return False
        if self.kind is AutomationKind.GREETING:
            return first_message
        if not text or not self.match:
            return False
        if self.kind is AutomationKind.KEYWORD:
            return re.search(rf"(?<!\w){re.escape(self.match)}(?!\w)", text, re.IGNORECASE) is not None
        return re.search(self.match, text, re.IGNORECASE) is not None

    def to_public(self) -> dict[str, Any]:
        return {
            "automationId": self.automation_id,
            "kind": self.kind.value,
            "match": self.match,
            "reply": self.reply,
            "enabled": self.enabled,
            "createdAt": self.created_at,
        }
