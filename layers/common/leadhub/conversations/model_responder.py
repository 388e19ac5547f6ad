"""The model responder: the conversation's last messages as turns for a language model, and its reply
bounded in length. Model errors are the caller's to turn into a fallback reply or a recorded failure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from leadhub.conversations.models import Direction, Message


class ModelFailed(Exception):
    """The model could not answer (an error, a timeout, an empty reply); the message says why."""


@dataclass(frozen=True, slots=True)
class Turn:
    role: str  # "user" (the lead) or "assistant" (us)
    text: str


def turns_from(history: Sequence[Message]) -> list[Turn]:
    """Oldest first, alternating, starting and ending with the lead (as the Converse API requires):
    consecutive messages of one side are joined, our opening messages dropped, messages without text
    skipped."""
    turns: list[Turn] = []
    for message in history:
        if not message.text:
            continue
        role = "user" if message.direction is Direction.INBOUND else "assistant"
        if turns and turns[-1].role == role:
            turns[-1] = Turn(role, f"{turns[-1].text}\n{message.text}")
        elif turns or role == "user":
            turns.append(Turn(role, message.text))
    while turns and turns[-1].role != "user":
        turns.pop()
    return turns


def bounded(text: str, max_chars: int) -> str:
    """Stripped, and at most `max_chars` with the marker (cut_to): cut at a word boundary when one is
    near."""
    return cut_to(text.strip(), max_chars)


CUT_MARKER = "…"


def text_length(text: str) -> int:
    """Length as the chat providers count it at worst: in UTF-16 code units (an emoji counts two), never
    fewer than Python's characters."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def cut_to(text: str, limit: int) -> str:
    """`text` itself when it fits in `limit` (text_length); else its start, cut at a word boundary when
    one is near, ending with CUT_MARKER, the whole within `limit`."""
    if text_length(text) <= limit:
        return text
    budget, used, end = limit - len(CUT_MARKER), 0, 0
    for end, char in enumerate(text):  # noqa: B007 - `end` is where the budget ran out
        used += 2 if ord(char) > 0xFFFF else 1
        if used > budget:
            break
    cut = text[:end]
    space = cut.rfind(" ")
    return (cut[:space] if space > len(cut) * 0.8 else cut).rstrip() + CUT_MARKER


def max_tokens_for(max_chars: int) -> int:
    return max(64, max_chars // 3)  # ~3-4 characters per token: enough room, still bounded
