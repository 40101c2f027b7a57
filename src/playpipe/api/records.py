"""The records the store reads, decoded leniently from the aggregator's JSON.

Field names are those of ``docs/metrics.md`` (``playpipe.streams.records`` on the producing
side). Decoding is lenient on purpose: a field added later is ignored, a field missing in an
older record takes its default, so the store reads every version of the records.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

__all__ = [
    "STANDARD_DIMENSIONS",
    "WINDOW_METRIC_FIELDS",
    "ViewIn",
    "WindowIn",
    "decode_view",
    "decode_window",
    "dimension_map",
]

STANDARD_DIMENSIONS: Final[tuple[str, ...]] = (
    "content_id",
    "stream_type",
    "player_name",
    "player_version",
    "device_type",
    "os",
    "browser",
    "country",
    "region",
    "asn",
    "isp",
    "cdn",
    "property",
)
"""The standard dimensions of a view, in record order."""

WINDOW_METRIC_FIELDS: Final[tuple[str, ...]] = (
    "attempts",
    "starts",
    "starts_active",
    "concurrent_viewers",
    "startup_time_p50_ms",
    "startup_time_p90_ms",
    "startup_time_p95_ms",
    "start_failures",
    "start_failure_pct",
    "exits_before_start",
    "exit_before_start_pct",
    "playback_failures",
    "playback_failure_pct",
    "playing_time_ms",
    "rebuffering_time_ms",
    "watch_time_ms",
    "rebuffer_count",
    "rebuffer_ratio",
    "avg_bitrate_kbps",
    "experience_score",
)
"""The metric fields of a window result, as stored."""

Scalar = str | int | float | bool


class WindowIn(msgspec.Struct, kw_only=True):
    """One window result for one dimension key (``<prefix>.metrics.<window>``)."""

    window: str
    window_start_ms: int
    window_end_ms: int | None = None
    size_ms: int | None = None
    dimensions: dict[str, Scalar | None] = {}
    revision: int = 0
    attempts: int = 0
    starts: int = 0
    starts_active: int = 0
    concurrent_viewers: int = 0
    startup_time_p50_ms: float | None = None
    startup_time_p90_ms: float | None = None
    startup_time_p95_ms: float | None = None
    start_failures: int = 0
    start_failure_pct: float | None = None
    exits_before_start: int = 0
    exit_before_start_pct: float | None = None
    playback_failures: int = 0
    playback_failure_pct: float | None = None
    playing_time_ms: int = 0
    rebuffering_time_ms: int = 0
    watch_time_ms: int = 0
    rebuffer_count: int = 0
    rebuffer_ratio: float | None = None
    avg_bitrate_kbps: float | None = None
    experience_score: float | None = None


class FatalErrorIn(msgspec.Struct, kw_only=True):
    """The first fatal error of a view."""

    code: str = ""
    message: str | None = None
    business: bool = False
    ts_ms: int | None = None


class ViewIn(msgspec.Struct, kw_only=True):
    """One view record (``<prefix>.views``); the summary fields the store indexes."""

    view_id: str
    start_ms: int = 0
    end_ms: int = 0
    revision: int = 0
    end_reason: str | None = None
    outcome: str | None = None
    attempted: bool = False
    started: bool = False
    play_intent_ms: int | None = None
    first_frame_ms: int | None = None
    startup_time_ms: int | None = None
    playing_time_ms: int = 0
    rebuffering_time_ms: int = 0
    paused_time_ms: int = 0
    seeking_time_ms: int = 0
    ad_time_ms: int = 0
    watch_time_ms: int = 0
    rebuffer_count: int = 0
    rebuffer_ratio: float | None = None
    avg_bitrate_kbps: float | None = None
    experience_score: float | None = None
    fatal_error: FatalErrorIn | None = None
    content_id: str | None = None
    stream_type: str | None = None
    player_name: str | None = None
    player_version: str | None = None
    device_type: str | None = None
    os: str | None = None
    browser: str | None = None
    country: str | None = None
    region: str | None = None
    asn: int | str | None = None
    isp: str | None = None
    cdn: str | None = None
    property: str | None = None
    custom: dict[str, Scalar | None] = {}


_window_decoder = msgspec.json.Decoder(WindowIn)
_view_decoder = msgspec.json.Decoder(ViewIn)


def decode_window(value: bytes) -> WindowIn:
    """Decode a window result; raises ``msgspec.DecodeError`` (a ``ValueError``) if invalid."""
    return _window_decoder.decode(value)


def decode_view(value: bytes) -> ViewIn:
    """Decode a view record; raises ``msgspec.DecodeError`` (a ``ValueError``) if invalid."""
    return _view_decoder.decode(value)


def text(value: Any) -> str | None:
    """A dimension value as stored: text, booleans lower-case, ``None`` kept."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def dimension_map(view: ViewIn) -> dict[str, str]:
    """Every known dimension of a view, standard then custom, as text (absent ones left out)."""
    dims = {name: text(getattr(view, name)) for name in STANDARD_DIMENSIONS}
    dims.update({name: text(value) for name, value in view.custom.items()})
    return {name: value for name, value in dims.items() if value is not None}
