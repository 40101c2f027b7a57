"""What the aggregation emits: one record per view, one result per window and dimension key.

Both are msgspec structs that encode to JSON as they are (``msgspec.json.encode``). Field
definitions are those of ``docs/metrics.md``; the registry in ``playpipe.streams.qoe`` names
every metric field.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import msgspec

__all__ = [
    "DimValue",
    "Emitted",
    "FatalError",
    "Outcome",
    "ViewRecord",
    "WindowResult",
]

DimValue: TypeAlias = str | int | float | bool
"""A dimension value: standard dimensions are strings (``asn`` an int), custom ones any."""

Outcome: TypeAlias = Literal[
    "start_failure",
    "playback_failure",
    "business_failure",
    "exit_before_start",
    "ended",
    "abandoned",
    "no_attempt",
]
EndReason: TypeAlias = Literal["ended", "aborted", "error", "timeout"]


class FatalError(msgspec.Struct, kw_only=True):
    """The first fatal error of a view."""

    code: str
    message: str | None
    business: bool
    ts_ms: int
    """Event time of the error."""


class ViewRecord(msgspec.Struct, kw_only=True):
    """One view, emitted once when it ends (``view_end``) or times out."""

    view_id: str
    viewer_id: str | None
    start_ms: int
    """Event time of the view's first event."""
    end_ms: int
    """``view_end`` time, or the last event's time for a timed-out view."""
    end_reason: EndReason
    outcome: Outcome
    attempted: bool
    started: bool
    play_intent_ms: int | None
    first_frame_ms: int | None
    startup_time_ms: int | None
    playing_time_ms: int
    rebuffering_time_ms: int
    paused_time_ms: int
    seeking_time_ms: int
    ad_time_ms: int
    watch_time_ms: int
    rebuffer_count: int
    rebuffer_ratio: float | None
    rebuffer_frequency_per_min: float
    avg_bitrate_kbps: float | None
    upshifts: int
    downshifts: int
    fatal_error: FatalError | None
    startup_score: float | None
    smoothness_score: float | None
    success_score: float | None
    experience_score: float | None
    event_count: int
    duplicate_count: int
    ignored_count: int
    """State events the state machine does not allow where they came (``events_ignored``)."""
    late_count: int
    """Events that came too late to be placed in the view's timeline (counted, not used)."""
    content_id: str | None
    stream_type: str | None
    player_name: str | None
    player_version: str | None
    device_type: str | None
    os: str | None
    browser: str | None
    country: str | None
    region: str | None
    asn: int | None
    isp: str | None
    cdn: str | None
    property: str | None
    custom: dict[str, DimValue]
    """The configured ``custom_dimensions`` the view carried."""


class WindowResult(msgspec.Struct, kw_only=True):
    """The metrics of one tumbling window for one dimension key.

    ``revision`` is 0 when the window closes and grows by one with each correction; the
    latest revision replaces the earlier ones (same :meth:`key`).
    """

    window: str
    """The configured window name, e.g. ``10s``."""
    size_ms: int
    window_start_ms: int
    window_end_ms: int
    dimensions: dict[str, DimValue | None]
    """Dimension name → value, in the order of the dimension set; ``{}`` for all views."""
    revision: int
    attempts: int
    starts: int
    starts_active: int
    concurrent_viewers: int
    startup_time_p50_ms: int | None
    startup_time_p90_ms: int | None
    startup_time_p95_ms: int | None
    start_failures: int
    start_failure_pct: float | None
    exits_before_start: int
    exit_before_start_pct: float | None
    playback_failures: int
    playback_failure_pct: float | None
    playing_time_ms: int
    rebuffering_time_ms: int
    watch_time_ms: int
    rebuffer_count: int
    rebuffer_ratio: float | None
    avg_bitrate_kbps: float | None
    experience_score: float | None

    def key(self) -> str:
        """A stable key of this window and dimension key, e.g. for a compacted topic."""
        dims = ",".join(f"{name}={value}" for name, value in self.dimensions.items())
        return f"{self.window}|{self.window_start_ms}|{dims}"


class Emitted(msgspec.Struct, kw_only=True):
    """What one ``advance`` produced; counters are increments since the previous call."""

    views: list[ViewRecord] = msgspec.field(default_factory=list)
    """Views that ended, ordered by (end time, view id)."""
    windows: list[WindowResult] = msgspec.field(default_factory=list)
    """Closed or corrected windows, ordered by (size, start, dimension set, key)."""
    late_events: int = 0
    """Events too late for some of their effect: their view had ended, they preceded the
    view's correction horizon, or a window they fall in was already final."""
    ignored_events: int = 0
    """Events the state machine ignored, counted when their view ends."""
    duplicates: int = 0
    """Events dropped as duplicates."""
    late_window_updates: int = 0
    """Pieces of activity dropped because their window was already final."""
    corrections: int = 0
    """Views re-derived because an event arrived after later ones had been processed."""
