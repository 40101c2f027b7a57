"""Comparing pipeline records with the simulator's truth: the fields and the equality used."""

from __future__ import annotations

import math
from typing import Any

from playpipe.api.records import WINDOW_METRIC_FIELDS

VIEW_FIELDS = (
    "start_ms",
    "end_ms",
    "end_reason",
    "outcome",
    "attempted",
    "started",
    "startup_time_ms",
    "playing_time_ms",
    "rebuffering_time_ms",
    "paused_time_ms",
    "seeking_time_ms",
    "ad_time_ms",
    "watch_time_ms",
    "rebuffer_count",
    "rebuffer_ratio",
    "rebuffer_frequency_per_min",
    "avg_bitrate_kbps",
    "upshifts",
    "downshifts",
    "experience_score",
    "event_count",
)
# Every metric of a window record, as the store keeps them.
WINDOW_FIELDS = WINDOW_METRIC_FIELDS


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)  # records round to 6 digits
    return bool(a == b)
