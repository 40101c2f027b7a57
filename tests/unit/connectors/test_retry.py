"""Backoff arithmetic: exponential ceiling, full jitter, attempts and budget."""

from __future__ import annotations

import random

from playpipe.connectors.retry import MIN_PAUSE_S, RetryPolicy, backpressure_pause
from playpipe.connectors.settings import RetrySettings

POLICY = RetryPolicy(max_attempts=5, initial_s=0.1, max_s=1.0, budget_s=10.0)


def test_ceiling_doubles_up_to_the_maximum() -> None:
    assert [POLICY.ceiling(n) for n in range(1, 7)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert POLICY.ceiling(10_000) == 1.0


def test_full_jitter_stays_within_zero_and_the_ceiling() -> None:
    rng = random.Random(7)
    delays = [POLICY.delay(3, rng) for _ in range(2000)]
    assert min(delays) >= 0.0 and max(delays) <= 0.4
    assert 0.17 < sum(delays) / len(delays) < 0.23  # uniform: mean is half the ceiling


def test_exhausted_by_attempts_or_budget() -> None:
    assert not POLICY.exhausted(4, 1.0, 0.5)
    assert POLICY.exhausted(5, 1.0, 0.5)
    assert POLICY.exhausted(2, 9.8, 0.5)


def test_from_settings_converts_milliseconds() -> None:
    policy = RetryPolicy.from_settings(
        RetrySettings(max_attempts=3, initial_backoff_ms=250, max_backoff_ms=4000, budget_s=60)
    )
    assert (policy.initial_s, policy.max_s, policy.budget_s) == (0.25, 4.0, 60)


def test_backpressure_honours_retry_after_and_never_spins() -> None:
    assert backpressure_pause(3.0, 1, POLICY) == 3.0
    assert backpressure_pause(0.0, 1, POLICY) == max(0.1, MIN_PAUSE_S)
    assert backpressure_pause(0.0, 4, POLICY) == 0.8
    assert backpressure_pause(0.0001, 1, POLICY) == MIN_PAUSE_S
