"""The window metrics the API serves, with their units and how rows combine.

A query may need several stored rows per point: a breakdown ``by=cdn`` served from the
``cdn,country,device_type`` set sums over country and device type. Counts and state times
add up exactly, and so does ``concurrent_viewers`` (a view has one value per dimension, so
the groups are disjoint); percentages and ratios are recomputed from their summed numerator
and denominator, which is exact too. Percentiles and the experience score cannot be
combined exactly: over several rows they are weighted means (startup percentiles weighted by
``starts``, bitrate by ``playing_time_ms``), and the answer says ``"exact": false``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["METRICS", "MetricDef"]

Kind = Literal["sum", "gauge", "ratio", "weighted", "mean"]


@dataclass(frozen=True, slots=True)
class MetricDef:
    """One servable metric."""

    name: str
    unit: str
    label: str
    kind: Kind
    numerator: str = ""
    denominator: tuple[str, ...] = ()
    scale: float = 1.0
    weight: str = ""
    """For ``weighted``: the count column each row's value is weighted by."""


def _sum(name: str, unit: str, label: str) -> MetricDef:
    return MetricDef(name, unit, label, "sum")


def _pct(name: str, label: str, num: str, *den: str) -> MetricDef:
    return MetricDef(name, "%", label, "ratio", num, den, 100.0)


METRICS: Final[dict[str, MetricDef]] = {
    m.name: m
    for m in (
        _sum("attempts", "count", "Play attempts"),
        _sum("starts", "count", "Video starts"),
        _sum("starts_active", "count", "Started views active"),
        MetricDef("concurrent_viewers", "count", "Concurrent viewers", "gauge"),
        MetricDef("startup_time_p50_ms", "ms", "Startup time p50", "weighted", weight="starts"),
        MetricDef("startup_time_p90_ms", "ms", "Startup time p90", "weighted", weight="starts"),
        MetricDef("startup_time_p95_ms", "ms", "Startup time p95", "weighted", weight="starts"),
        _sum("start_failures", "count", "Video start failures"),
        _pct("start_failure_pct", "Video start failure", "start_failures", "attempts"),
        _sum("exits_before_start", "count", "Exits before video start"),
        _pct("exit_before_start_pct", "Exits before video start", "exits_before_start", "attempts"),
        _sum("playback_failures", "count", "Playback failures"),
        _pct("playback_failure_pct", "Playback failure", "playback_failures", "starts_active"),
        _sum("playing_time_ms", "ms", "Playing time"),
        _sum("rebuffering_time_ms", "ms", "Rebuffering time"),
        _sum("watch_time_ms", "ms", "Watch time"),
        _sum("rebuffer_count", "count", "Rebuffers"),
        MetricDef(
            "rebuffer_ratio",
            "fraction",
            "Rebuffer ratio",
            "ratio",
            "rebuffering_time_ms",
            ("playing_time_ms", "rebuffering_time_ms"),
        ),
        MetricDef(
            "avg_bitrate_kbps", "kbps", "Average bitrate", "weighted", weight="playing_time_ms"
        ),
        MetricDef("experience_score", "0-100", "Experience score", "mean"),
    )
}
"""Every window metric of ``docs/metrics.md``, by name."""

SUMMED: Final[tuple[str, ...]] = tuple(
    m.name for m in METRICS.values() if m.kind in ("sum", "gauge")
)
"""The columns a query sums per point (counts, state times, concurrency)."""
SMOOTHED: Final[tuple[str, ...]] = tuple(
    m.name for m in METRICS.values() if m.kind in ("weighted", "mean")
)
"""The columns that combine as (weighted) means."""
