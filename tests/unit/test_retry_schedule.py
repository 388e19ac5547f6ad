"""Retry schedule: parsing, jittered delays, Retry-After, exhaustion and outcome classification."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from leadhub.outbound.delivery_attempt import Outcome, classify
from leadhub.platform.retry_schedule import (
    DEFAULT_SCHEDULE,
    MAX_DELAY_SECONDS,
    SQS_MAX_VISIBILITY_SECONDS,
    max_receive_count,
    max_total_delay,
    next_delay,
    parse_retry_after,
    parse_schedule,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SCHEDULE = parse_schedule(DEFAULT_SCHEDULE)


def exact(attempt: int, **kwargs) -> float | None:
    return next_delay(SCHEDULE, attempt, jitter=0, now=NOW, **kwargs)


class TestParse:
    def test_default_schedule_matches_the_contract(self) -> None:
        # README "Delivery and retries": immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
        assert SCHEDULE == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("0s", (0,)),
            ("0s,1s,1s", (0, 1, 1)),
            (" 0s , 1.5s ,2M,1H ", (0, 1.5, 120, 3600)),
            ("0h,12h", (0, 43200)),
            ("0s,0s", (0, 0)),
        ],
    )
    def test_valid_schedules(self, text: str, expected: tuple[float, ...]) -> None:
        assert parse_schedule(text) == expected

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("", "give comma-separated delays"),
            ("   ", "give comma-separated delays"),
            ("0s,,5s", "give comma-separated delays"),
            ("0s,5s,", "give comma-separated delays"),
            ("0s,5", "entry '5': a number with a unit s, m or h"),
            ("0s,5d", "entry '5d'"),
            ("0s,500ms", "entry '500ms'"),
            ("0s,-5s", "entry '-5s'"),
            ("0s,5 s", "entry '5 s'"),
            ("0s,1e3s", "entry '1e3s'"),
            ("0s,soon", "entry 'soon'"),
            ("0s,13h", "entry '13h': at most 12h"),
            ("0s,721m", "entry '721m': at most 12h"),
            ("5s,5m", "the first entry is the delay before attempt 1 and must be 0s"),
        ],
    )
    def test_invalid_schedules_say_why(self, text: str, message: str) -> None:
        with pytest.raises(ValueError, match="retry schedule") as caught:
            parse_schedule(text)
        assert message in str(caught.value)


class TestNextDelay:
    def test_without_jitter_each_attempt_gets_the_next_step(self) -> None:
        assert [exact(attempt) for attempt in range(1, 9)] == [5, 300, 1800, 7200, 18000, 36000, 36000, None]

    def test_the_last_attempt_has_no_next_delay(self) -> None:
        assert next_delay(SCHEDULE, 8, rng=random.Random(1)) is None
        assert next_delay(SCHEDULE, 9, rng=random.Random(1)) is None
        assert next_delay((0.0,), 1) is None
        assert next_delay((0.0, 1.0), 1, jitter=0) == 1.0

    def test_the_last_attempt_ignores_retry_after(self) -> None:
        assert exact(8, retry_after="60") is None

    def test_attempts_count_from_one(self) -> None:
        with pytest.raises(ValueError, match="numbered from 1"):
            next_delay(SCHEDULE, 0)

    @pytest.mark.parametrize("jitter", [-0.1, 1.0, 1.5])
    def test_jitter_is_a_fraction(self, jitter: float) -> None:
        with pytest.raises(ValueError, match="jitter"):
            next_delay(SCHEDULE, 1, jitter=jitter)

    @pytest.mark.parametrize("attempt", range(1, 8))
    def test_jitter_stays_within_bounds_and_spreads(self, attempt: int) -> None:
        rng = random.Random(attempt)
        scheduled = SCHEDULE[attempt]
        # 10 h + 20 % would be SQS's whole 12 h: the 10 h steps are capped (see the next test).
        highest = min(1.2 * scheduled, MAX_DELAY_SECONDS)
        delays = [next_delay(SCHEDULE, attempt, rng=rng) for _ in range(2000)]
        assert all(d is not None and 0.8 * scheduled <= d <= highest for d in delays)
        # Spread over the whole band, not bunched: both outer ends are reached.
        assert min(delays) < 0.84 * scheduled and max(delays) > highest - 0.04 * scheduled
        assert len(set(delays)) > 1500

    def test_jitter_is_configurable(self) -> None:
        rng = random.Random(7)
        delays = [next_delay(SCHEDULE, 2, jitter=0.5, rng=rng) for _ in range(2000)]
        assert min(delays) >= 150 and max(delays) <= 450
        assert min(delays) < 170 and max(delays) > 430

    def test_a_seeded_rng_repeats(self) -> None:
        first = [next_delay(SCHEDULE, 3, rng=random.Random(42)) for _ in range(3)]
        assert first[0] == first[1] == first[2]

    def test_delays_never_exceed_what_sqs_accepts(self) -> None:
        # 10 h + 20 % is exactly SQS's 12 h maximum, which the worker can no longer set after holding
        # the message for a while: the delay is capped below it.
        schedule = parse_schedule("0s,12h")
        rng = random.Random(3)
        delays = [next_delay(schedule, 1, rng=rng) for _ in range(500)]
        assert max(delays) == MAX_DELAY_SECONDS < SQS_MAX_VISIBILITY_SECONDS
        assert all(d is not None and d >= 0.8 * 43200 for d in delays)

    def test_a_zero_step_stays_zero(self) -> None:
        assert next_delay(parse_schedule("0s,0s,0s"), 1, rng=random.Random(1)) == 0


class TestRetryAfter:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("120", 120.0),
            (" 120 ", 120.0),
            ("0", 0.0),
            ("Mon, 23 Nov 2026 09:10:00 GMT", 600.0),
            ("Monday, 23-Nov-26 09:10:00 GMT", 600.0),  # RFC 850
            ("Mon Nov 23 09:10:00 2026", 600.0),  # asctime (GMT by definition)
            ("Mon, 23 Nov 2026 08:00:00 GMT", 0.0),  # in the past: now
            ("Mon, 23 Nov 2026 10:10:00 +0100", 600.0),
        ],
    )
    def test_forms(self, value: str, expected: float) -> None:
        assert parse_retry_after(value, NOW) == expected

    @pytest.mark.parametrize(
        "value",
        [
            None,
            "",
            "soon",
            "-5",
            "1.5",
            "12 34",
            "0x10",
            "१२",
            "Mon, 32 Nov 2026 09:10:00 GMT",
            "Mon, 23 Nov 99999",
        ],
    )
    def test_garbage_is_none(self, value: str | None) -> None:
        assert parse_retry_after(value, NOW) is None

    def test_a_longer_retry_after_wins(self) -> None:
        assert exact(1, retry_after="120") == 120
        assert exact(2, retry_after="3600") == 3600
        assert exact(1, retry_after=format_datetime(NOW + timedelta(minutes=30), usegmt=True)) == 1800

    def test_a_shorter_retry_after_does_not_shorten_the_schedule(self) -> None:
        assert exact(3, retry_after="10") == 1800
        assert exact(2, retry_after=format_datetime(NOW + timedelta(seconds=30), usegmt=True)) == 300

    def test_retry_after_wins_over_jitter_too(self) -> None:
        rng = random.Random(5)
        delays = [next_delay(SCHEDULE, 1, retry_after="100", rng=rng, now=NOW) for _ in range(100)]
        assert set(delays) == {100.0}

    def test_retry_after_waits_at_least_a_second(self) -> None:
        zero_steps = parse_schedule("0s,0s")
        assert next_delay(zero_steps, 1, retry_after="0", now=NOW) == 1.0
        assert next_delay(zero_steps, 1, retry_after="Mon, 23 Nov 2026 08:00:00 GMT", now=NOW) == 1.0
        assert next_delay(zero_steps, 1, retry_after=None, now=NOW) == 0

    def test_retry_after_is_capped(self) -> None:
        assert exact(1, retry_after="999999999") == MAX_DELAY_SECONDS
        assert exact(1, retry_after="9" * 400) == MAX_DELAY_SECONDS
        assert exact(1, retry_after="Fri, 31 Dec 9999 23:59:59 GMT") == MAX_DELAY_SECONDS

    @pytest.mark.parametrize("value", ["soon", "-1", "", "NaN", "inf", "Mon, 99 Nov 2026"])
    def test_garbage_retry_after_keeps_the_schedule(self, value: str) -> None:
        assert exact(2, retry_after=value) == 300

    def test_now_defaults_to_the_clock(self) -> None:
        later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
        delay = next_delay(SCHEDULE, 1, jitter=0, retry_after=later)
        assert delay is not None and 3500 < delay <= 3600


class TestClassify:
    @pytest.mark.parametrize(
        ("status", "error_class", "outcome"),
        [
            (200, None, Outcome.DELIVERED),
            (201, None, Outcome.DELIVERED),
            (202, None, Outcome.DELIVERED),
            (204, None, Outcome.DELIVERED),
            (299, None, Outcome.DELIVERED),
            (410, None, Outcome.GONE),
            (100, None, Outcome.RETRY),
            (199, None, Outcome.RETRY),
            (300, None, Outcome.RETRY),
            (301, None, Outcome.RETRY),
            (302, None, Outcome.RETRY),
            (304, None, Outcome.RETRY),
            (307, None, Outcome.RETRY),
            (308, None, Outcome.RETRY),
            (400, None, Outcome.RETRY),
            (401, None, Outcome.RETRY),
            (403, None, Outcome.RETRY),
            (404, None, Outcome.RETRY),
            (408, None, Outcome.RETRY),
            (409, None, Outcome.RETRY),
            (413, None, Outcome.RETRY),
            (422, None, Outcome.RETRY),
            (429, None, Outcome.RETRY),
            (500, None, Outcome.RETRY),
            (502, None, Outcome.RETRY),
            (503, None, Outcome.RETRY),
            (504, None, Outcome.RETRY),
            (None, "timeout", Outcome.RETRY),
            (None, "connection_reset", Outcome.RETRY),
            (None, "connection_refused", Outcome.RETRY),
            (None, "tls_error", Outcome.RETRY),
            (None, "dns_error", Outcome.RETRY),
            (None, "unsafe_address", Outcome.RETRY),
            (None, None, Outcome.RETRY),
        ],
    )
    def test_table(self, status: int | None, error_class: str | None, outcome: Outcome) -> None:
        assert classify(status, error_class) is outcome

    def test_outcomes_are_strings_for_the_delivery_log(self) -> None:
        assert [str(o) for o in Outcome] == ["delivered", "gone", "retry"]


class TestQueueConsistency:
    def test_max_receive_count_is_the_number_of_attempts(self) -> None:
        assert max_receive_count(SCHEDULE) == 8
        assert max_receive_count(parse_schedule("0s,1s,1s")) == 3

    def test_every_receive_but_the_last_has_a_next_delay(self) -> None:
        count = max_receive_count(SCHEDULE)
        delays = [
            next_delay(SCHEDULE, receive, rng=random.Random(receive)) for receive in range(1, count + 1)
        ]
        assert all(d is not None for d in delays[:-1])
        assert delays[-1] is None

    def test_max_total_delay_bounds_retention(self) -> None:
        total = max_total_delay(SCHEDULE)
        assert total == pytest.approx(1.2 * (5 + 300 + 1800 + 7200 + 18000) + 2 * MAX_DELAY_SECONDS)
        assert total < 4 * 86400  # SQS's default retention (4 days) keeps every default-schedule delivery
        assert max_total_delay(SCHEDULE, jitter=0) == 99305
