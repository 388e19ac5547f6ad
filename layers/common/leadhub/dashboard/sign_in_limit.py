"""Failed sign-ins are limited per source address: after MAX_FAILURES in a window of WINDOW, further
attempts are refused (429) until the window ends. Addresses are stored hashed, with a TTL."""

from __future__ import annotations

from datetime import datetime

from leadhub.dashboard.ports import FailedSignIns
from leadhub.platform.errors import TooManyRequests
from leadhub.platform.ids import token_hash

MAX_FAILURES = 10
WINDOW_SECONDS = 15 * 60


def _window(now: datetime) -> int:
    epoch = int(now.timestamp())
    return epoch - epoch % WINDOW_SECONDS


def check_sign_in_allowed(source_ip: str, *, failures: FailedSignIns, now: datetime) -> None:
    window = _window(now)
    if failures.count(token_hash(source_ip), window) >= MAX_FAILURES:
        retry_after = window + WINDOW_SECONDS - int(now.timestamp())
        raise TooManyRequests("Too many failed sign-ins from this address; try again later", retry_after)


def record_failed_sign_in(source_ip: str, *, failures: FailedSignIns, now: datetime) -> None:
    window = _window(now)
    failures.add(token_hash(source_ip), window, expires_at=window + 2 * WINDOW_SECONDS)
