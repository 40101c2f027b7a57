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
from operator import add

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


# One view's (or, summed, many views') contribution to one window: a list of numbers.
(
    ATTEMPTS,
    STARTS,
    CONCURRENT,
    START_FAILURES,
    EXITS,
    PLAYBACK_FAILURES,
    ACTIVE,
    PLAYING,
    REBUFFERING,
    WATCH,
    REBUFFERS,
    BITRATE_MS,
    BITRATE_WEIGHT,
    ENDED,
    SCORE_SUM,
    SCORED,
) = range(16)
_FIELDS = 16

Cell = list[float]


def _view_cells(tl: Timeline, truth: ViewTruth, size: int) -> dict[int, Cell]:
    """One view's contributions, keyed by window start (flags are 0 or 1 per view)."""
    cells: dict[int, Cell] = {}

    def cell(t: int) -> Cell:
        start = t - t % size
        found = cells.get(start)
        if found is None:
            found = cells[start] = [0] * _FIELDS
        return found

    ff = tl.first_frame[0] if tl.first_frame else None
    for iv in intervals(tl):
        t, state = iv.start, iv.state
        after_ff = ff is not None and iv.start >= ff
        while t < iv.end:
            stop = min(iv.end, t - t % size + size)
            length = stop - t
            c = cell(t)
            if state in _CONCURRENT:
                c[CONCURRENT] = 1
            if after_ff:
                c[ACTIVE] = 1
            if state == "playing":
                c[PLAYING] += length
                if iv.bitrate is not None:
                    c[BITRATE_MS] += iv.bitrate * length
                    c[BITRATE_WEIGHT] += length
            elif state == "rebuffering":
                c[REBUFFERING] += length
            if state in _WATCH:
                c[WATCH] += length
            t = stop
    if tl.intent is not None:
        cell(tl.intent[0])[ATTEMPTS] += 1
    if ff is not None and truth.startup_time_ms is not None:
        cell(ff)[STARTS] += 1
    for t, _ in tl.rebuffers:
        cell(t)[REBUFFERS] += 1
    if truth.outcome == "start_failure" and tl.fatal is not None:
        cell(tl.fatal.t)[START_FAILURES] += 1
    if truth.outcome == "playback_failure" and tl.fatal is not None:
        c = cell(tl.fatal.t)
        c[PLAYBACK_FAILURES] += 1
        c[ACTIVE] = 1
    end = cell(tl.end[0])
    end[ENDED] += 1
    if truth.outcome == "exit_before_start":
        end[EXITS] += 1
    if truth.experience_score is not None:
        end[SCORE_SUM] += truth.experience_score
        end[SCORED] += 1
    return cells


def _pct(part: float, whole: float) -> float | None:
    return 100.0 * part / whole if whole else None


Key = tuple[int, int, tuple[str | int | None, ...], int]
"""(window size, dimension set index, dimension values, window start)."""


class WindowAccumulator:
    """Adds views one by one; :meth:`records` gives the window truth.

    A view's contributions are added once per window size under its *fine key* (its values
    of every dimension any dimension set uses); :meth:`records` rolls the fine keys up into
    each dimension set. Every view has one fine key, so distinct-view counts add up exactly.
    """

    def __init__(self, windows_ms: Sequence[int], dimension_sets: Sequence[Sequence[str]]) -> None:
        self.windows_ms = tuple(windows_ms)
        self.dimension_sets = tuple(tuple(d) for d in dimension_sets)
        self.fine_names = tuple(dict.fromkeys(n for names in self.dimension_sets for n in names))
        self._projections = [
            tuple(self.fine_names.index(n) for n in names) for names in self.dimension_sets
        ]
        self.fine: dict[tuple[int, tuple[str | int | None, ...]], dict[int, Cell]] = {}
        self.startups: dict[tuple[int, tuple[str | int | None, ...], int], list[int]] = {}

    def add(self, tl: Timeline, truth: ViewTruth) -> None:
        """Add one view's contributions to every window size."""
        values = tuple(tl.dims.get(name) for name in self.fine_names)
        for size in self.windows_ms:
            group = self.fine.get((size, values))
            if group is None:
                group = self.fine[(size, values)] = {}
            for start, cell in _view_cells(tl, truth, size).items():
                total = group.get(start)
                if total is None:
                    group[start] = cell
                else:
                    for i, v in enumerate(cell):
                        if v:
                            total[i] += v
            if tl.first_frame is not None and truth.startup_time_ms is not None:
                at = tl.first_frame[0] - tl.first_frame[0] % size
                self.startups.setdefault((size, values, at), []).append(truth.startup_time_ms)

    def add_all(self, views: Iterable[tuple[Timeline, ViewTruth]]) -> None:
        for tl, truth in views:
            self.add(tl, truth)

    def _rolled_up(self) -> tuple[dict[Key, Cell], dict[Key, list[int]]]:
        cells: dict[Key, Cell] = {}
        startups: dict[Key, list[int]] = {}
        for d, projection in enumerate(self._projections):
            for (size, fine), group in self.fine.items():
                values = tuple(fine[i] for i in projection)
                for start, cell in group.items():
                    key = (size, d, values, start)
                    total = cells.get(key)
                    if total is None:
                        cells[key] = list(cell)
                    else:
                        total[:] = map(add, total, cell)
            for (size, fine, start), samples in self.startups.items():
                key = (size, d, tuple(fine[i] for i in projection), start)
                startups.setdefault(key, []).extend(samples)
        return cells, startups

    def records(self) -> list[WindowTruth]:
        """Every window record, sorted by size, dimension set, window start, values."""
        cells, startups = self._rolled_up()
        order = sorted(cells, key=lambda k: (k[0], k[1], k[3], repr(k[2])))
        return [
            _record(key, self.dimension_sets[key[1]], cells[key], startups.get(key, []))
            for key in order
        ]


def _record(key: Key, names: tuple[str, ...], c: Cell, startups: list[int]) -> WindowTruth:
    size, _, values, start = key
    startups = sorted(startups)
    played = c[PLAYING] + c[REBUFFERING]
    return WindowTruth(
        window=window_label(size),
        window_ms=size,
        start_ms=start,
        end_ms=start + size,
        dimensions=list(names),
        dims=dict(zip(names, values, strict=True)),
        attempts=int(c[ATTEMPTS]),
        starts=int(c[STARTS]),
        concurrent_viewers=int(c[CONCURRENT]),
        startup_time_p50_ms=nearest_rank(startups, 50),
        startup_time_p90_ms=nearest_rank(startups, 90),
        startup_time_p95_ms=nearest_rank(startups, 95),
        start_failures=int(c[START_FAILURES]),
        start_failure_pct=_pct(c[START_FAILURES], c[ATTEMPTS]),
        exits_before_start=int(c[EXITS]),
        exit_before_start_pct=_pct(c[EXITS], c[ATTEMPTS]),
        playback_failures=int(c[PLAYBACK_FAILURES]),
        starts_active=int(c[ACTIVE]),
        playback_failure_pct=_pct(c[PLAYBACK_FAILURES], c[ACTIVE]),
        playing_time_ms=int(c[PLAYING]),
        rebuffering_time_ms=int(c[REBUFFERING]),
        watch_time_ms=int(c[WATCH]),
        rebuffer_count=int(c[REBUFFERS]),
        rebuffer_ratio=c[REBUFFERING] / played if played else None,
        avg_bitrate_kbps=c[BITRATE_MS] / c[BITRATE_WEIGHT] if c[BITRATE_WEIGHT] else None,
        views_ended=int(c[ENDED]),
        experience_score=c[SCORE_SUM] / c[SCORED] if c[SCORED] else None,
    )
