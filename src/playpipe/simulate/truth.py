"""Ground truth per view, computed from the true timeline with docs/metrics.md's rules.

The quantities are those of a ``<prefix>.views`` record, from what the simulated player did
(:class:`~playpipe.simulate.timeline.Timeline`), never from the events it sent. One JSON
line per view goes to the truth file; see docs/simulator.md for every field.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import msgspec

from playpipe.simulate.timeline import BatchFlags, Timeline

__all__ = [
    "OUTCOMES",
    "BatchFlags",
    "FatalError",
    "Interval",
    "ViewTruth",
    "experience",
    "intervals",
    "view_truth",
]

OUTCOMES = (
    "start_failure",
    "playback_failure",
    "business_failure",
    "exit_before_start",
    "ended",
    "abandoned",
    "no_attempt",
)
"""The view outcome enum of docs/metrics.md."""


@dataclass(frozen=True, slots=True)
class Interval:
    """A stretch of one state at one bitrate: ``[start, end)``."""

    start: int
    end: int
    state: str
    bitrate: float | None


class FatalError(msgspec.Struct, kw_only=True):
    """The first fatal error of a view."""

    code: str
    message: str
    business: bool
    at_ms: int


class ViewTruth(msgspec.Struct, kw_only=True):
    """The true view record of one view (one line of the truth file)."""

    view_id: str
    viewer_id: str
    session_id: str
    dims: dict[str, str | int | None]
    start_ms: int
    end_ms: int
    end_reason: str
    intent_ms: int | None
    first_frame_ms: int | None
    attempted: bool
    started: bool
    startup_time_ms: int | None
    idle_time_ms: int
    startup_state_ms: int
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
    outcome: str
    startup_score: float | None
    smoothness_score: float | None
    success_score: float | None
    experience_score: float | None
    event_count: int
    batches: int
    batches_lost: int
    batches_duplicated: int
    events_lost: int
    batches_reordered: int
    batches_after_end: int
    complete: bool
    """No batch of this view was lost: the pipeline saw every event."""


def intervals(tl: Timeline) -> Iterator[Interval]:
    """The view's life as state-and-bitrate intervals, split at every bitrate change."""
    end = tl.end[0]
    bitrates = tl.bitrates
    b = 0
    current: float | None = None
    changes = tl.changes
    for i, (start, state, _) in enumerate(changes):
        stop = min(changes[i + 1][0] if i + 1 < len(changes) else end, end)
        if state == "ended" or stop <= start:
            continue
        while b < len(bitrates) and bitrates[b][0] <= start:
            current = bitrates[b][1]
            b += 1
        cursor = start
        while b < len(bitrates) and bitrates[b][0] < stop:
            if bitrates[b][0] > cursor:
                yield Interval(cursor, bitrates[b][0], state, current)
                cursor = bitrates[b][0]
            current = bitrates[b][1]
            b += 1
        yield Interval(cursor, stop, state, current)


def _outcome(tl: Timeline) -> str:
    started = tl.first_frame is not None
    if tl.fatal is not None:
        if tl.fatal.business:
            return "business_failure"
        return "playback_failure" if started else "start_failure"
    if tl.intent is None:
        return "no_attempt"
    if not started:
        return "exit_before_start"
    return "ended" if tl.end_reason == "ended" else "abandoned"


def experience(
    outcome: str, startup_ms: int | None, rebuffer_count: int, rebuffering_ms: int, watch_ms: int
) -> tuple[float | None, float | None, float | None, float | None]:
    """``(startup, smoothness, success, experience)`` scores of docs/metrics.md.

    Business failures and views without a play attempt get no success score (they are kept
    out of the failure rates), hence no experience score.
    """
    success = {
        "ended": 100.0,
        "abandoned": 100.0,
        "exit_before_start": 50.0,
        "start_failure": 0.0,
        "playback_failure": 0.0,
    }.get(outcome)
    if startup_ms is None:
        return None, None, success, success
    startup = 100.0 * 8.0 / (8.0 + startup_ms / 1000.0)
    ratio_mux = rebuffering_ms / watch_ms if watch_ms else 0.0
    smoothness = (
        100.0 / math.sqrt(1.0 + (rebuffer_count / 2.0) ** 2) + 100.0 * math.exp(-10.0 * ratio_mux)
    ) / 2.0
    score = None if success is None else success * (startup + smoothness) / 2.0 / 100.0
    return startup, smoothness, success, score


def view_truth(tl: Timeline) -> ViewTruth:
    """The true view record of one timeline."""
    flags = tl.flags
    times = dict.fromkeys(
        ("idle", "startup", "playing", "paused", "seeking", "rebuffering", "ad"), 0
    )
    weighted = weight = 0.0
    ad_before_ff = 0
    intent = tl.intent[0] if tl.intent else None
    ff = tl.first_frame[0] if tl.first_frame else None
    for iv in intervals(tl):
        length = iv.end - iv.start
        times[iv.state] += length
        if iv.state == "playing" and iv.bitrate is not None:
            weighted += iv.bitrate * length
            weight += length
        if iv.state == "ad" and intent is not None and ff is not None:
            ad_before_ff += max(0, min(iv.end, ff) - max(iv.start, intent))
    startup_ms = None if ff is None or intent is None else ff - intent - ad_before_ff
    playing, rebuffering = times["playing"], times["rebuffering"]
    watch = times["startup"] + playing + rebuffering + times["seeking"]
    count = len(tl.rebuffers)
    outcome = _outcome(tl)
    scores = experience(outcome, startup_ms, count, rebuffering, watch)
    fatal = tl.fatal
    return ViewTruth(
        view_id=tl.view_id,
        viewer_id=tl.viewer_id,
        session_id=tl.session_id,
        dims=tl.dims,
        start_ms=tl.start_ms,
        end_ms=tl.end[0],
        end_reason=tl.end_reason,
        intent_ms=intent,
        first_frame_ms=ff,
        attempted=intent is not None,
        started=ff is not None,
        startup_time_ms=startup_ms,
        idle_time_ms=times["idle"],
        startup_state_ms=times["startup"],
        playing_time_ms=playing,
        rebuffering_time_ms=rebuffering,
        paused_time_ms=times["paused"],
        seeking_time_ms=times["seeking"],
        ad_time_ms=times["ad"],
        watch_time_ms=watch,
        rebuffer_count=count,
        rebuffer_ratio=rebuffering / (playing + rebuffering) if playing + rebuffering else None,
        rebuffer_frequency_per_min=count / (playing / 60_000) if playing else 0.0,
        avg_bitrate_kbps=weighted / weight if weight else None,
        upshifts=sum(1 for s in tl.shifts if s[1] > 0),
        downshifts=sum(1 for s in tl.shifts if s[1] < 0),
        fatal_error=(
            None
            if fatal is None
            else FatalError(
                code=fatal.code, message=fatal.message, business=fatal.business, at_ms=fatal.t
            )
        ),
        outcome=outcome,
        startup_score=scores[0],
        smoothness_score=scores[1],
        success_score=scores[2],
        experience_score=scores[3],
        event_count=tl.event_count,
        batches=flags.batches,
        batches_lost=flags.batches_lost,
        batches_duplicated=flags.batches_duplicated,
        events_lost=flags.events_lost,
        batches_reordered=flags.batches_reordered,
        batches_after_end=flags.batches_after_end,
        complete=flags.batches_lost == 0,
    )
