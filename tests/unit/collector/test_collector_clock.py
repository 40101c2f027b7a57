"""Event time: client clock skew correction and its flags."""

from __future__ import annotations

import pytest

from playpipe.collector.enrich import (
    FUTURE_TOLERANCE_MS,
    MIN_EVENT_TS,
    batch_skew,
    correct_time,
    skew_corrected,
)

NOW = 1_732_579_200_000  # received_at
HOUR = 3_600_000
DAY = 24 * HOUR


def test_accurate_clock_keeps_client_time() -> None:
    # sent 120 ms ago by an accurate clock; the event happened 5 s before sending
    assert correct_time(NOW - 5_120, NOW - 120, NOW) == (NOW - 5_120 + 120, False)


def test_clock_behind_is_corrected() -> None:
    behind = 2 * HOUR
    sent_at = NOW - behind
    assert correct_time(sent_at - 30_000, sent_at, NOW) == (NOW - 30_000, False)


def test_clock_ahead_is_corrected() -> None:
    ahead = 10 * HOUR
    sent_at = NOW + ahead
    assert correct_time(sent_at - 1_000, sent_at, NOW) == (NOW - 1_000, False)


def test_skew_beyond_the_limit_is_flagged() -> None:
    sent_at = NOW - DAY - 1
    assert correct_time(sent_at - 1_000, sent_at, NOW) == (NOW, True)
    assert correct_time(NOW - 1_000, NOW - 1_000, NOW, max_skew_ms=500) == (NOW, True)
    assert correct_time(NOW - 1_000, NOW - 400, NOW, max_skew_ms=500) == (NOW - 600, False)


def test_missing_sent_at_is_flagged() -> None:
    assert correct_time(NOW - 1_000, None, NOW) == (NOW, True)


@pytest.mark.parametrize("client_ts", [0, 1_000, MIN_EVENT_TS - 1, NOW + DAY + 1, 10**15])
def test_absurd_client_time_is_flagged(client_ts: int) -> None:
    assert correct_time(client_ts, client_ts + 10, NOW) == (NOW, True)


def test_event_after_its_batch_was_sent() -> None:
    # within the tolerance: clamped to received_at, not flagged
    assert correct_time(NOW + 500, NOW, NOW) == (NOW, False)
    assert correct_time(NOW + FUTURE_TOLERANCE_MS, NOW, NOW) == (NOW, False)
    # beyond it: flagged
    assert correct_time(NOW + FUTURE_TOLERANCE_MS + 1, NOW, NOW) == (NOW, True)


def test_corrected_time_before_2000_is_flagged() -> None:
    client_ts = MIN_EVENT_TS + 1_000
    sent_at = NOW + 10 * DAY  # huge skew, allowed by a huge limit
    ts = correct_time(client_ts, sent_at, NOW, max_skew_ms=100 * DAY)
    assert ts == (NOW, True)


def test_batch_helpers_agree_with_correct_time() -> None:
    skew = batch_skew(NOW - 250, NOW)
    assert skew == 250
    for client_ts in (NOW - 10_000, NOW + 2_000, 5):
        assert skew_corrected(client_ts, skew, NOW) == correct_time(client_ts, NOW - 250, NOW)
    assert batch_skew(None, NOW) is None
    assert batch_skew(NOW - DAY - 1, NOW) is None
    assert batch_skew(NOW + DAY, NOW) == -DAY
