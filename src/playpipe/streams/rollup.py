"""Window accumulators and the window metrics of docs/metrics.md computed from them.

Every sum is an integer (times in ms, bitrate in bit/s * ms, scores * 10⁶), so results do
not depend on the order in which activity arrived, which keeps recovery and replays exact.
"""

from __future__ import annotations

import heapq

import msgspec
from msgspec.structs import astuple

from playpipe.streams import qoe
from playpipe.streams import timeline as tl
from playpipe.streams.records import DimValue, WindowResult

__all__ = ["Acc", "compute"]


class Acc(msgspec.Struct, array_like=True, gc=False):
    """Sums of one window for one fine dimension key."""

    attempts: int = 0
    starts: int = 0
    concurrent: int = 0
    starts_active: int = 0
    start_failures: int = 0
    exits_before_start: int = 0
    playback_failures: int = 0
    startup_ms: int = 0
    playing_ms: int = 0
    rebuffering_ms: int = 0
    seeking_ms: int = 0
    rebuffers: int = 0
    br_ms: int = 0
    br_sum: int = 0
    score_sum: int = 0
    score_n: int = 0
    startup_times: list[int] = msgspec.field(default_factory=list)

    def count(self, kind: int, value: int, sign: int) -> None:
        """Count a fact (see ``timeline``); ``value`` is a startup time or a score * 10⁶."""
        if kind == tl.REBUFFER:
            self.rebuffers += sign
        elif kind == tl.ATTEMPT:
            self.attempts += sign
        elif kind == tl.START:
            self.starts += sign
            if sign > 0:
                self.startup_times.append(value)
            else:
                self.startup_times.remove(value)
        elif kind == tl.START_FAILURE:
            self.start_failures += sign
        elif kind == tl.PLAYBACK_FAILURE:
            self.playback_failures += sign
        elif kind == tl.EXIT_BEFORE_START:
            self.exits_before_start += sign
        elif kind == tl.VIEW_SCORE:
            self.score_sum += value * sign
            self.score_n += sign


_SUMMED = Acc.__struct_fields__[:-1]


def _total(accs: list[Acc]) -> Acc:
    if len(accs) == 1:
        return accs[0]
    total = Acc()
    rows = [astuple(a)[:-1] for a in accs]
    for name, value in zip(_SUMMED, map(sum, zip(*rows, strict=True)), strict=True):
        setattr(total, name, value)
    total.startup_times = list(heapq.merge(*(sorted(a.startup_times) for a in accs)))
    return total


def _pct(n: int, d: int) -> float | None:
    return 100.0 * n / d if d else None


def compute(
    window: str,
    size: int,
    start: int,
    dimensions: dict[str, DimValue | None],
    accs: list[Acc],
    previous: WindowResult | None,
) -> WindowResult | None:
    """The result of one window and key, or ``None`` if it equals the ``previous`` one.

    A changed result carries the previous revision plus one.
    """
    a = _total(accs)
    times = sorted(a.startup_times)
    played = a.playing_ms + a.rebuffering_ms
    result = WindowResult(
        window=window,
        size_ms=size,
        window_start_ms=start,
        window_end_ms=start + size,
        dimensions=dimensions,
        revision=previous.revision if previous is not None else 0,
        attempts=a.attempts,
        starts=a.starts,
        starts_active=a.starts_active,
        concurrent_viewers=a.concurrent,
        startup_time_p50_ms=qoe.nearest_rank(times, 50),
        startup_time_p90_ms=qoe.nearest_rank(times, 90),
        startup_time_p95_ms=qoe.nearest_rank(times, 95),
        start_failures=a.start_failures,
        start_failure_pct=_pct(a.start_failures, a.attempts),
        exits_before_start=a.exits_before_start,
        exit_before_start_pct=_pct(a.exits_before_start, a.attempts),
        playback_failures=a.playback_failures,
        playback_failure_pct=_pct(a.playback_failures, a.starts_active),
        playing_time_ms=a.playing_ms,
        rebuffering_time_ms=a.rebuffering_ms,
        watch_time_ms=a.startup_ms + a.playing_ms + a.rebuffering_ms + a.seeking_ms,
        rebuffer_count=a.rebuffers,
        rebuffer_ratio=a.rebuffering_ms / played if played else None,
        avg_bitrate_kbps=a.br_sum / a.br_ms / 1000 if a.br_ms else None,
        experience_score=a.score_sum / a.score_n / 1_000_000 if a.score_n else None,
    )
    if previous is not None:
        if result == previous:
            return None
        result.revision = previous.revision + 1
    return result
