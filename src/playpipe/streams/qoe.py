"""The QoE metric registry and Mux's published score formulas.

``docs/metrics.md`` is the human page of these definitions and this module is their code:
one :class:`Metric` per row of the per-view and per-window tables (a unit test keeps the two
in step), and the score functions the view records use. Nothing here knows about events or
windows; the sessionizer and the window store compute the inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "METRICS",
    "VIEW_METRICS",
    "WINDOW_METRICS",
    "Metric",
    "experience_score",
    "metric",
    "nearest_rank",
    "smoothness_score",
    "startup_score",
    "success_score",
]

Level = Literal["view", "window"]


@dataclass(frozen=True, slots=True)
class Metric:
    """One pinned metric: its name on the wire, unit, level and the rule it follows."""

    name: str
    unit: str
    level: Level
    follows: str
    """Whose definition it follows: ``CTA-2066``, ``Mux``, ``New Relic / CTA`` or ``playpipe``."""
    denominator: str | None = None
    """What a ratio or percentage divides by; ``None`` for counts, times and scores."""


def _view(name: str, unit: str, follows: str = "playpipe", per: str | None = None) -> Metric:
    return Metric(name, unit, "view", follows, per)


def _window(name: str, unit: str, follows: str = "playpipe", per: str | None = None) -> Metric:
    return Metric(name, unit, "window", follows, per)


VIEW_METRICS: Final[tuple[Metric, ...]] = (
    _view("attempted", "bool"),
    _view("started", "bool"),
    _view("startup_time_ms", "ms", "New Relic / CTA"),
    _view("playing_time_ms", "ms"),
    _view("rebuffering_time_ms", "ms"),
    _view("paused_time_ms", "ms"),
    _view("seeking_time_ms", "ms"),
    _view("ad_time_ms", "ms"),
    _view("watch_time_ms", "ms", "Mux"),
    _view("rebuffer_count", "count"),
    _view("rebuffer_ratio", "fraction", "CTA-2066", "playing_time_ms + rebuffering_time_ms"),
    _view("rebuffer_frequency_per_min", "1/min", "CTA-2066", "playing minutes"),
    _view("avg_bitrate_kbps", "kbps", "CTA-2066", "playing time with a known bitrate"),
    _view("upshifts", "count"),
    _view("downshifts", "count"),
    _view("fatal_error", "object"),
    _view("outcome", "enum", "Mux"),
    _view("startup_score", "0-100", "Mux"),
    _view("smoothness_score", "0-100", "Mux", "watch_time_ms"),
    _view("success_score", "0-100", "Mux"),
    _view("experience_score", "0-100", "playpipe"),
    _view("event_count", "count"),
    _view("duplicate_count", "count"),
)
"""One per field of the view record that the per-view table of docs/metrics.md defines."""

WINDOW_METRICS: Final[tuple[Metric, ...]] = (
    _window("attempts", "count"),
    _window("starts", "count"),
    _window("starts_active", "count"),
    _window("concurrent_viewers", "count", "Mux"),
    _window("startup_time_p50_ms", "ms", "New Relic / CTA"),
    _window("startup_time_p90_ms", "ms", "New Relic / CTA"),
    _window("startup_time_p95_ms", "ms", "New Relic / CTA"),
    _window("start_failures", "count", "Mux"),
    _window("start_failure_pct", "%", "Mux", "attempts"),
    _window("exits_before_start", "count", "Mux"),
    _window("exit_before_start_pct", "%", "Mux", "attempts"),
    _window("playback_failures", "count", "Mux"),
    _window("playback_failure_pct", "%", "Mux", "starts_active"),
    _window("playing_time_ms", "ms"),
    _window("rebuffering_time_ms", "ms"),
    _window("watch_time_ms", "ms", "Mux"),
    _window("rebuffer_count", "count"),
    _window("rebuffer_ratio", "fraction", "CTA-2066", "playing_time_ms + rebuffering_time_ms"),
    _window("avg_bitrate_kbps", "kbps", "CTA-2066", "playing time with a known bitrate"),
    _window("experience_score", "0-100", "playpipe", "views that ended in the window"),
)
"""One per field of a window result that the per-window table of docs/metrics.md defines."""

METRICS: Final[dict[tuple[Level, str], Metric]] = {
    (m.level, m.name): m for m in VIEW_METRICS + WINDOW_METRICS
}


def metric(level: Level, name: str) -> Metric:
    """The registered metric ``name`` of ``level``; ``KeyError`` if there is none."""
    return METRICS[(level, name)]


def startup_score(startup_time_ms: int) -> float:
    """Mux Startup Time score: ``100 * 8 / (8 + startup seconds)`` (400 ms → 95, 8 s → 50)."""
    return 800.0 / (8.0 + max(0, startup_time_ms) / 1000.0)


def smoothness_score(rebuffer_count: int, rebuffering_ms: int, watch_ms: int) -> float:
    """Mux Smoothness score: the mean of the rebuffer-count and rebuffer-percentage curves.

    ``mean(100 / sqrt(1 + (count / 2)²), 100 * e^(-10 * rebuffering / watch time))``; the
    percentage part is 100 when there is no watch time.
    """
    by_count = 100.0 / math.sqrt(1.0 + (rebuffer_count / 2.0) ** 2)
    ratio = rebuffering_ms / watch_ms if watch_ms > 0 else 0.0
    by_ratio = 100.0 * math.exp(-10.0 * ratio)
    return (by_count + by_ratio) / 2.0


def success_score(outcome: str) -> float | None:
    """Mux Playback Success score by outcome: 100 success, 50 exit before start, 0 failure.

    Views with a business failure or without a play attempt have no score (``None``).
    """
    return _SUCCESS.get(outcome)


_SUCCESS: Final[dict[str, float]] = {
    "ended": 100.0,
    "abandoned": 100.0,
    "exit_before_start": 50.0,
    "start_failure": 0.0,
    "playback_failure": 0.0,
}


def experience_score(
    success: float | None, startup: float | None, smoothness: float | None
) -> float | None:
    """playpipe's overall score: ``success * mean(startup, smoothness) / 100`` if started.

    Mux does not publish the weights of its overall score; this documented approximation
    equals ``success`` for views that never started and is ``None`` when success is.
    """
    if success is None:
        return None
    if startup is None or smoothness is None:
        return success
    return success * (startup + smoothness) / 200.0


def nearest_rank(sorted_values: list[int], percent: int) -> int | None:
    """The nearest-rank percentile of ascending ``sorted_values``; ``None`` when empty."""
    n = len(sorted_values)
    if n == 0:
        return None
    rank = max(1, (percent * n + 99) // 100)
    return sorted_values[rank - 1]
