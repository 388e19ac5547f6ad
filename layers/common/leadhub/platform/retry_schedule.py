"""When a queued job (a webhook delivery, a reply to send) is attempted again. A schedule lists the delay
before each attempt: `"0s,5s,5m,30m,2h,5h,10h,10h"` is eight attempts, the first at once, then the job
fails and its message is in the DLQ. Each delay is stretched or shrunk by up to ±`jitter` (20 %), so
that retries after an outage do not arrive in one burst. An attempt is one receive of the job's SQS
message, so the queue's redrive policy uses `max_receive_count(schedule)`."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from datetime import UTC, datetime

DEFAULT_SCHEDULE = "0s,5s,5m,30m,2h,5h,10h,10h"
DEFAULT_JITTER = 0.2
# SQS caps a message's visibility timeout at 12 h, counted from when it was received; the worker has
# held the message for up to a Lambda timeout (15 min at most) before it changes the visibility.
SQS_MAX_VISIBILITY_SECONDS = 43_200
MAX_DELAY_SECONDS = SQS_MAX_VISIBILITY_SECONDS - 900
# A receiver that asks us to wait (Retry-After) waits at least this long, even for "0".
MIN_RETRY_AFTER_SECONDS = 1.0

_UNITS = {"s": 1, "m": 60, "h": 3600}
_DELAY = re.compile(r"(\d+(?:\.\d+)?)([smh])")


def parse_schedule(text: str) -> tuple[float, ...]:
    """Seconds before each attempt, from comma-separated delays with a unit (`500ms` is not a unit:
    use s, m or h; decimals such as `1.5s` are fine). The first delay is that of attempt 1 and must be
    0 (a delivery is attempted as soon as its event is queued); every delay is at most 12 h, the
    longest SQS can hide a message. Raises ValueError naming the offending entry."""
    entries = [entry.strip() for entry in text.split(",")]
    if not text.strip() or any(not entry for entry in entries):
        raise ValueError(f"retry schedule {text!r}: give comma-separated delays such as {DEFAULT_SCHEDULE!r}")
    delays = []
    for entry in entries:
        match = _DELAY.fullmatch(entry.lower())
        if match is None:
            raise ValueError(f"retry schedule entry {entry!r}: a number with a unit s, m or h, such as '30m'")
        delay = float(match.group(1)) * _UNITS[match.group(2)]
        if delay > SQS_MAX_VISIBILITY_SECONDS:
            raise ValueError(
                f"retry schedule entry {entry!r}: at most 12h (the longest SQS can hide a message)"
            )
        delays.append(delay)
    if delays[0] != 0:
        raise ValueError(
            f"retry schedule {text!r}: the first entry is the delay before attempt 1 and must be 0s "
            "(attempt 1 goes out at once)"
        )
    return tuple(delays)


def max_receive_count(schedule: Sequence[float]) -> int:
    """The DeliveryQueue redrive policy's `maxReceiveCount`: the number of attempts.

    Attempt n is the n-th receive of the message (use its `ApproximateReceiveCount` as the attempt
    number, so that a receive that crashed before reporting still counts). After attempt
    `len(schedule)` fails, `next_delay` returns None; the worker reports the failure without hiding the
    message, and SQS moves it to the DLQ at its next receive, because that receive would exceed
    `maxReceiveCount`. A template whose count differs from the schedule either gives up early or
    retries more often than configured.
    """
    return len(schedule)


def max_total_delay(schedule: Sequence[float], jitter: float = DEFAULT_JITTER) -> float:
    """The longest a delivery can stay queued from its first to its last attempt (jitter included):
    the queue's message retention must be longer, or SQS drops the message before the DLQ gets it."""
    return sum(min(delay * (1 + jitter), MAX_DELAY_SECONDS) for delay in schedule[1:])


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a `Retry-After` header asks for (delay-seconds or an HTTP-date; a past date is 0), or
    None when it is missing or not one of those forms."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    # Imported here: email.utils costs ~10 ms of cold start, and most answers carry no HTTP-date.
    from email.utils import parsedate_to_datetime

    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # "-0000" dates parse as naive; HTTP-dates are GMT
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


def next_delay(
    schedule: Sequence[float],
    attempt: int,
    *,
    jitter: float = DEFAULT_JITTER,
    retry_after: str | None = None,
    rng: random.Random | None = None,
    now: datetime | None = None,
) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, after attempt number `attempt` (1-based) failed;
    None when `attempt` was the last one (the delivery is exhausted).

    The scheduled delay is multiplied by a random factor in [1 - jitter, 1 + jitter]. A `Retry-After`
    from the receiver (seconds or HTTP-date, relative to `now`) can lengthen the wait but never shorten
    it: the result is the larger of the two, at least 1 s when Retry-After was given. Garbage
    Retry-After values are ignored. The result never exceeds `MAX_DELAY_SECONDS` (12 h less the
    worker's time holding the message), what SQS accepts as a visibility timeout.
    """
    if attempt < 1:
        raise ValueError(f"attempts are numbered from 1, not {attempt}")
    if not 0 <= jitter < 1:
        raise ValueError(f"jitter is a fraction in [0, 1), not {jitter}")
    if attempt >= len(schedule):
        return None
    factor = 1 + (rng or random).uniform(-jitter, jitter)
    delay = schedule[attempt] * factor
    asked = parse_retry_after(retry_after, now or datetime.now(UTC))
    if asked is not None:
        delay = max(delay, asked, MIN_RETRY_AFTER_SECONDS)
    return min(delay, MAX_DELAY_SECONDS)
