"""How an account's conversations are answered: by its automations (rules, the default) or by a model
on Amazon Bedrock; and whether they are answered automatically at all."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ResponderKind(StrEnum):
    RULES = "rules"
    BEDROCK = "bedrock"


@dataclass(frozen=True, slots=True)
class ResponderSettings:
    account_id: str
    kind: ResponderKind = ResponderKind.RULES
    auto_reply: bool = True  # off: no conversation of the account is answered automatically
    model_id: str | None = None
    system_prompt: str = ""
    history_messages: int = 10  # the last N messages of the conversation go to the model as context
    max_reply_chars: int = 1000
    fallback_reply: str | None = None  # sent when the model fails; None: no reply (the error is recorded)
    updated_at: str | None = None

    def to_public(self) -> dict[str, Any]:
        return {
            "responder": self.kind.value,
            "autoReply": self.auto_reply,
            "modelId": self.model_id,
            "systemPrompt": self.system_prompt,
            "historyMessages": self.history_messages,
            "maxReplyChars": self.max_reply_chars,
            "fallbackReply": self.fallback_reply,
            "updatedAt": self.updated_at,
        }
