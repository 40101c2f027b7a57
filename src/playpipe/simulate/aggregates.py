"""True window aggregates: docs/metrics.md's window metrics, from the true timelines.

Tumbling windows aligned on the epoch (``start = t - t % size``). State time is split at
window boundaries; a count goes to the window of the instant that caused it. One record per
(window size, dimension set, dimension values, window start) in which some view of those
dimension values has state time (idle included) or a counted instant; a record absent from
the truth means all its counts and times are zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import msgspec

from playpipe.simulate.timeline import Timeline
from playpipe.simulate.truth import ViewTruth, intervals

__all__ = ["WindowAccumulator", "WindowTruth", "nearest_rank", "window_label"]

_CONCURRENT = frozenset({"startup", "playing", "rebuffering"})
_WATCH = frozenset({"startup", "playing", "rebuffering", "seeking"})


def window_label(size_ms: int) -> str:
    """``10s``, ``1m``, ``1h``: the window's name as in ``streams.windows``."""
    for unit, ms in (("h", 3_600_000), ("m", 60_000), ("s", 1_000)):
        if size_ms % ms == 0:
            return f"{size_ms // ms}{unit}"
    return f"{size_ms}ms"


def nearest_rank(sorted_values: Sequence[int], percent: float) -> int | None:
    """Exact percentile by nearest rank: the value at rank ceil(p / 100 * n)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(percent / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


class WindowTruth(msgspec.Struct, kw_only=True):
    """One true window record (one line of ``<truth>.windows.jsonl``)."""

    window: str
    window_ms: int
    start_ms: int
    end_ms: int
    dimensions: list[str]
    dims: dict[str, str | int | None]
    attempts: int
    starts: int
    concurrent_viewers: int
    startup_time_p50_ms: int | None
    startup_time_p90_ms: int | None
    startup_time_p95_ms: int | None
    start_failures: int
    start_failure_pct: float | None
    exits_before_start: int
    exit_before_start_pct: float | None
    playback_failures: int
    starts_active: int
    playback_failure_pct: float | None
    playing_time_ms: int
    rebuffering_time_ms: int
    watch_time_ms: int
    rebuffer_count: int
    rebuffer_ratio: float | None
    avg_bitrate_kbps: float | None
    views_ended: int
    experience_score: float | None


@dataclass(slots=True)
class _Cell:
    """One view's (or, summed, many views') contribution to one window."""

    attempts: int = 0
    starts: int = 0
    concurrent: int = 0
    startups: list[int] = field(default_factory=list)
    start_failures: int = 0
    exits: int = 0
    playback_failures: int = 0
    active: int = 0
    playing: int = 0
    rebuffering: int = 0
    watch: int = 0
    rebuffers: int = 0
    bitrate_ms: float = 0.0
    bitrate_weight: int = 0
    ended: int = 0
    score_sum: float = 0.0
    scored: int = 0

    def add(self, other: _Cell) -> None:
        self.attempts += other.attempts
        self.starts += other.starts
        self.concurrent += other.concurrent
        self.startups.extend(other.startups)
        self.start_failures += other.start_failures
        self.exits += other.exits
        self.playback_failures += other.playback_failures
        self.active += other.active
        self.playing += other.playing
        self.rebuffering += other.rebuffering
        self.watch += other.watch
        self.rebuffers += other.rebuffers
        self.bitrate_ms += other.bitrate_ms
        self.bitrate_weight += other.bitrate_weight
        self.ended += other.ended
        self.score_sum += other.score_sum
        self.scored += other.scored


def _view_cells(tl: Timeline, truth: ViewTruth, size: int) -> dict[int, _Cell]:
    """One view's contributions, keyed by window start."""
    cells: dict[int, _Cell] = {}

    def cell(t: int) -> _Cell:
        start = t - t % size
        found = cells.get(start)
        if found is None:
            found = cells[start] = _Cell()
        return found

    ff = tl.first_frame[0] if tl.first_frame else None
    for iv in intervals(tl):
        t = iv.start
        while t < iv.end:
            stop = min(iv.end, t - t % size + size)
            length = stop - t
            c = cell(t)
            if iv.state in _CONCURRENT:
                c.concurrent = 1
            if ff is not None and iv.start >= ff:
                c.active = 1
            if iv.state == "playing":
                c.playing += length
                if iv.bitrate is not None:
                    c.bitrate_ms += iv.bitrate * length
                    c.bitrate_weight += length
            elif iv.state == "rebuffering":
                c.rebuffering += length
            if iv.state in _WATCH:
                c.watch += length
            t = stop
    if tl.intent is not None:
        cell(tl.intent[0]).attempts += 1
    if ff is not None and truth.startup_time_ms is not None:
        c = cell(ff)
        c.starts += 1
        c.startups.append(truth.startup_time_ms)
    for t, _ in tl.rebuffers:
        cell(t).rebuffers += 1
    if truth.outcome == "start_failure" and tl.fatal is not None:
        cell(tl.fatal.t).start_failures += 1
    if truth.outcome == "playback_failure" and tl.fatal is not None:
        c = cell(tl.fatal.t)
        c.playback_failures += 1
        c.active = 1
    end = cell(tl.end[0])
    end.ended += 1
    if truth.outcome == "exit_before_start":
        end.exits += 1
    if truth.experience_score is not None:
        end.score_sum += truth.experience_score
        end.scored += 1
    return cells


def _pct(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


class WindowAccumulator:
    """Adds views one by one; :meth:`records` gives the window truth."""

    def __init__(self, windows_ms: Sequence[int], dimension_sets: Sequence[Sequence[str]]) -> None:
        self.windows_ms = tuple(windows_ms)
        self.dimension_sets = tuple(tuple(d) for d in dimension_sets)
        self.cells: dict[tuple[int, int, tuple[str | int | None, ...], int], _Cell] = {}

    def add(self, tl: Timeline, truth: ViewTruth) -> None:
        """Add one view's contributions to every window size and dimension set."""
        for size in self.windows_ms:
            view_cells = _view_cells(tl, truth, size)
            for d, dims in enumerate(self.dimension_sets):
                values = tuple(tl.dims.get(name) for name in dims)
                for start, contribution in view_cells.items():
                    key = (size, d, values, start)
                    total = self.cells.get(key)
                    if total is None:
                        total = self.cells[key] = _Cell()
                    total.add(contribution)

    def add_all(self, views: Iterable[tuple[Timeline, ViewTruth]]) -> None:
        for tl, truth in views:
            self.add(tl, truth)

    def records(self) -> list[WindowTruth]:
        """Every window record, sorted by size, dimension set, window start, values."""
        out: list[WindowTruth] = []
        order = sorted(self.cells, key=lambda k: (k[0], k[1], k[3], repr(k[2])))
        for key in order:
            size, d, values, start = key
            out.append(_record(size, self.dimension_sets[d], values, start, self.cells[key]))
        return out


def _record(
    size: int,
    names: tuple[str, ...],
    values: tuple[str | int | None, ...],
    start: int,
    c: _Cell,
) -> WindowTruth:
    startups = sorted(c.startups)
    played = c.playing + c.rebuffering
    return WindowTruth(
        window=window_label(size),
        window_ms=size,
        start_ms=start,
        end_ms=start + size,
        dimensions=list(names),
        dims=dict(zip(names, values, strict=True)),
        attempts=c.attempts,
        starts=c.starts,
        concurrent_viewers=c.concurrent,
        startup_time_p50_ms=nearest_rank(startups, 50),
        startup_time_p90_ms=nearest_rank(startups, 90),
        startup_time_p95_ms=nearest_rank(startups, 95),
        start_failures=c.start_failures,
        start_failure_pct=_pct(c.start_failures, c.attempts),
        exits_before_start=c.exits,
        exit_before_start_pct=_pct(c.exits, c.attempts),
        playback_failures=c.playback_failures,
        starts_active=c.active,
        playback_failure_pct=_pct(c.playback_failures, c.active),
        playing_time_ms=c.playing,
        rebuffering_time_ms=c.rebuffering,
        watch_time_ms=c.watch,
        rebuffer_count=c.rebuffers,
        rebuffer_ratio=c.rebuffering / played if played else None,
        avg_bitrate_kbps=c.bitrate_ms / c.bitrate_weight if c.bitrate_weight else None,
        views_ended=c.ended,
        experience_score=c.score_sum / c.scored if c.scored else None,
    )
