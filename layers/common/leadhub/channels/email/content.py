"""Completing an inbound email: fetch its content from Resend, keep only what the sender wrote this time
(quoted history, reply headers and signatures dropped), and store it with the message. Whatever Resend
answers, the job ends: content beyond the limits is cut (message_limits), and an answer we cannot read
or store is recorded as a content error rather than retried until the job lands in the DLQ."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from leadhub.channels.email.ports import ReceivedEmails
from leadhub.conversations.conversations import record_content
from leadhub.conversations.jobs import ContentJob
from leadhub.conversations.models import AWAITING_CONTENT, Channel
from leadhub.conversations.ports import ConversationStore
from leadhub.platform.errors import UnstorableInput

# What is read of a long email: the new text is at its top, and reading the rest (quote detection, HTML
# parsing) of a mail of many megabytes could outlast the worker's timeout.
MAX_SOURCE_CHARS = 1_000_000

# Lines where the quoted part of a reply begins, as the common mail clients write them.
_QUOTE_HEADERS = [
    re.compile(r"^On .{0,300}wrote:\s*$", re.IGNORECASE | re.DOTALL),  # Gmail, Apple Mail, Thunderbird
    re.compile(r"^Am .{0,300}schrieb .{0,200}:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^Le .{0,300}a écrit\s*:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^-{2,}\s*Original Message\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^_{20,}\s*$"),  # Outlook's rule above the quoted headers
    re.compile(r"^From:\s.+$", re.IGNORECASE),  # Outlook's quoted header block
]
_SIGNATURES = [
    re.compile(r"^--\s*$"),  # the RFC 3676 "-- " delimiter
    re.compile(r"^Sent from my \w+", re.IGNORECASE),
    re.compile(r"^Get Outlook for \w+", re.IGNORECASE),
]


def complete_email(job: ContentJob, *, emails: ReceivedEmails, store: ConversationStore) -> bool:
    """Fetch and store the content; False when the message needs none (already complete or unknown).
    Provider failures raise, so the job is retried from the queue."""
    message = store.find_message(job.account_id, Channel.EMAIL, job.email_id)
    if message is None or message.status != AWAITING_CONTENT:
        return False
    email = emails.get(job.email_id)
    if not email:  # Resend no longer has it, or its answer was no JSON we read: store what we know
        return _content_error(job, "not found" if email is None else "unreadable", store)
    try:
        return record_content(job.account_id, Channel.EMAIL, job.email_id, *_content(email), store=store)
    except UnstorableInput:  # bounded as it is, still refused: the message must not wait forever
        return _content_error(job, "unstorable", store)


def _content_error(job: ContentJob, error: str, store: ConversationStore) -> bool:
    content: dict[str, object] = {"contentError": error}
    return record_content(job.account_id, Channel.EMAIL, job.email_id, None, content, store=store)


def _content(email: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The new text of a received email, and what else we keep of it."""
    text = email.get("text") if isinstance(email.get("text"), str) else None
    if not text and isinstance(email.get("html"), str):
        text = html_to_text(email["html"][:MAX_SOURCE_CHARS])
    new = new_text((text or "")[:MAX_SOURCE_CHARS])
    extra: dict[str, Any] = {"fullTextChars": len(text or "")}
    if isinstance(email.get("headers"), dict):
        headers = {k.lower(): v for k, v in email["headers"].items()}
        extra.update(
            {
                k: headers[h]
                for k, h in (("inReplyTo", "in-reply-to"), ("references", "references"))
                if h in headers
            }
        )
    return new or None, extra


def new_text(text: str) -> str:
    """What the sender wrote above the quoted history and signature, trimmed."""
    kept: list[str] = []
    lines = text.replace("\r\n", "\n").split("\n")
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(">"):
            break
        # Quote headers may wrap onto a second line ("On Mon, … <ada@example.com>\nwrote:").
        joined = f"{stripped} {lines[i + 1].strip()}" if i + 1 < len(lines) else stripped
        if any(p.match(stripped) or p.match(joined) for p in _QUOTE_HEADERS) and _quote_follows(lines, i):
            break
        if any(p.match(stripped) for p in _SIGNATURES):
            break
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


def _quote_follows(lines: list[str], at: int) -> bool:
    """A quote header only counts when something follows it (a lone "From: …" line may be content)."""
    return any(line.strip() for line in lines[at + 1 :])


class _TextExtractor(HTMLParser):
    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "blockquote"})
    _SKIPPED = frozenset({"style", "script", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self._quoting = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skipping += 1
        if tag == "blockquote":
            self._quoting += 1
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED and self._skipping:
            self._skipping -= 1
        if tag == "blockquote" and self._quoting:
            self._quoting -= 1
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            # Quoted HTML history becomes "> " lines, which new_text then drops.
            self.parts.append("> " + data if self._quoting else data)


def html_to_text(html: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    text = "".join(extractor.parts)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.strip() for line in text.split("\n"))).strip()
