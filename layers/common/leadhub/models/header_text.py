"""Text we will later put into a header of a request or a mail (custom headers, access tokens, a sender's
name): checked when it is saved, so that sending can neither fail on it (HTTP headers are Latin-1) nor
have a line break in it start a header of its own."""

from __future__ import annotations

import re
import unicodedata

# RFC 9110 field-value characters, as Latin-1 text: visible ASCII, space, tab and Latin-1's printable
# letters and signs. No control characters: CR and LF would end the header.
_HTTP_HEADER_VALUE = re.compile("[\t\x20-\x7e\xa0-\xff]*")
HTTP_HEADER_VALUE_RULE = "one line of printable ASCII or Latin-1 characters"

# An access token travels as `Authorization: Bearer <token>`: visible ASCII, no spaces.
_TOKEN = re.compile("[\x21-\x7e]+")
TOKEN_RULE = "visible ASCII characters only (no spaces or line breaks)"  # noqa: S105 - wording, not a secret

DISPLAY_NAME_RULE = "one line without control characters or angle brackets"


def is_http_header_value(text: str) -> bool:
    return _HTTP_HEADER_VALUE.fullmatch(text) is not None


def is_token(text: str) -> bool:
    return _TOKEN.fullmatch(text) is not None


def is_display_name(text: str) -> bool:
    """A sender's name before its address (`Name <address>`): any script, but no control characters
    (CR, LF, …), line or paragraph separators or unpaired surrogates, and no angle brackets, which would
    change the address."""
    return not any(char in "<>" or unicodedata.category(char) in ("Cc", "Zl", "Zp", "Cs") for char in text)
