"""Retry arithmetic: exponential backoff with full jitter, bounded by attempts and a budget.

The delay before attempt ``n + 1`` is uniform in ``[0, min(max, initial * 2 ** (n - 1))]``
("full jitter"): retries of many connectors spread out instead of hammering a recovering
destination in step. A batch is given up (dead-lettered) after ``max_attempts`` attempts, or
when the next retry would start later than ``budget_s`` after the first attempt.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from playpipe.connectors.settings import RetrySettings

MIN_PAUSE_S = 0.05
"""The shortest pause on backpressure, so a ``Retry-After: 0`` never makes us spin."""


@dataclass(frozen=True)
class RetryPolicy:
    """How a connector retries transient failures."""

    max_attempts: int = 30
    initial_s: float = 0.2
    max_s: float = 30.0
    budget_s: float = 3600.0

    @classmethod
    def from_settings(cls, settings: RetrySettings) -> RetryPolicy:
        """The policy of a connector's ``retry`` table."""
        return cls(
            max_attempts=settings.max_attempts,
            initial_s=settings.initial_backoff_ms / 1000,
            max_s=settings.max_backoff_ms / 1000,
            budget_s=settings.budget_s,
        )

    def ceiling(self, attempt: int) -> float:
        """The largest delay after failed attempt number ``attempt`` (1-based)."""
        exponent = min(max(attempt - 1, 0), 62)
        return float(min(self.max_s, self.initial_s * float(2**exponent)))

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """A random delay in ``[0, ceiling(attempt)]`` (full jitter)."""
        return (rng or random).uniform(0.0, self.ceiling(attempt))

    def exhausted(self, attempt: int, elapsed_s: float, next_delay_s: float) -> bool:
        """Whether to give up after ``attempt`` failed attempts, ``elapsed_s`` after the first."""
        return attempt >= self.max_attempts or elapsed_s + next_delay_s > self.budget_s


def backpressure_pause(retry_after: float, streak: int, policy: RetryPolicy) -> float:
    """How long to pause on a destination's request to slow down.

    The destination's ``retry_after`` when it gave one; otherwise the backoff ceiling of the
    ``streak`` of consecutive backpressure answers. Never shorter than ``MIN_PAUSE_S``.
    """
    if retry_after > 0:
        return max(retry_after, MIN_PAUSE_S)
    return max(policy.ceiling(streak), MIN_PAUSE_S)
