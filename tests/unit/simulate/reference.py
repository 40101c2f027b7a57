"""An independent replay of docs/metrics.md's view state machine over events.

The simulator's truth comes from its own timelines; this replays the events it sent (or a
collector received) to check that both tell the same story.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from playpipe.dictionary import (
    AdBreakEndEvent,
    AdBreakStartEvent,
    EndedEvent,
    ErrorEvent,
    Event,
    FirstFrameEvent,
    PausedEvent,
    PlayingEvent,
    PlayRequestedEvent,
    RebufferEndEvent,
    RebufferStartEvent,
    RenditionChangeEvent,
    SeekEndEvent,
    SeekStartEvent,
    ViewEndEvent,
)


@dataclass
class Replayed:
    """What a sessionizer following docs/metrics.md would record for one view."""

    view_id: str
    start_ms: int = 0
    end_ms: int = 0
    end_reason: str = "timeout"
    intent_ms: int | None = None
    first_frame_ms: int | None = None
    times: dict[str, int] = field(default_factory=dict)
    rebuffer_count: int = 0
    rebuffer_starts: list[int] = field(default_factory=list)
    ignored: int = 0
    upshifts: int = 0
    downshifts: int = 0
    bitrate_weighted: float = 0.0
    bitrate_weight: int = 0
    ad_before_ff: int = 0
    fatal: tuple[int, str, bool] | None = None
    saw_ended: bool = False

    def as_truth(self) -> dict[str, Any]:
        """The fields a :class:`~playpipe.simulate.ViewTruth` has, computed from the replay."""
        t = self.times
        playing, rebuffering = t.get("playing", 0), t.get("rebuffering", 0)
        watch = t.get("startup", 0) + playing + rebuffering + t.get("seeking", 0)
        started = self.first_frame_ms is not None
        startup = (
            None
            if not started or self.intent_ms is None
            else self.first_frame_ms - self.intent_ms - self.ad_before_ff  # type: ignore[operator]
        )
        return {
            "view_id": self.view_id,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "end_reason": self.end_reason,
            "intent_ms": self.intent_ms,
            "first_frame_ms": self.first_frame_ms,
            "attempted": self.intent_ms is not None,
            "started": started,
            "startup_time_ms": startup,
            "idle_time_ms": t.get("idle", 0),
            "startup_state_ms": t.get("startup", 0),
            "playing_time_ms": playing,
            "rebuffering_time_ms": rebuffering,
            "paused_time_ms": t.get("paused", 0),
            "seeking_time_ms": t.get("seeking", 0),
            "ad_time_ms": t.get("ad", 0),
            "watch_time_ms": watch,
            "rebuffer_count": self.rebuffer_count,
            "rebuffer_ratio": rebuffering / (playing + rebuffering)
            if playing + rebuffering
            else None,
            "avg_bitrate_kbps": (
                self.bitrate_weighted / self.bitrate_weight if self.bitrate_weight else None
            ),
            "upshifts": self.upshifts,
            "downshifts": self.downshifts,
            "outcome": self.outcome(),
            "experience_score": self.experience(startup, watch, rebuffering),
        }

    def outcome(self) -> str:
        started = self.first_frame_ms is not None
        if self.fatal is not None:
            if self.fatal[2]:
                return "business_failure"
            return (
                "playback_failure"
                if self.fatal[0] >= (self.first_frame_ms or 2**62)
                else ("start_failure")
            )
        if self.intent_ms is None:
            return "no_attempt"
        if not started:
            return "exit_before_start"
        return "ended" if self.saw_ended else "abandoned"

    def experience(self, startup: int | None, watch: int, rebuffering: int) -> float | None:
        success = {"ended": 100, "abandoned": 100, "exit_before_start": 50}.get(self.outcome())
        if self.outcome() in ("start_failure", "playback_failure"):
            success = 0
        if success is None or startup is None:
            return None if success is None else float(success)
        s_startup = 100 * 8 / (8 + startup / 1000)
        ratio = rebuffering / watch if watch else 0.0
        smooth = (
            100 / math.sqrt(1 + (self.rebuffer_count / 2) ** 2) + 100 * math.exp(-10 * ratio)
        ) / 2
        return success * (s_startup + smooth) / 2 / 100


def replay(events: Iterable[Event], time_of: Callable[[Event], int]) -> dict[str, Replayed]:
    """Replay every view: order by (time, seq), drop duplicate ids, walk the states."""
    by_view: dict[str, dict[str, Event]] = {}
    for e in events:
        by_view.setdefault(e.view_id, {}).setdefault(e.event_id, e)
    return {
        view_id: _replay_view(
            view_id, sorted(kept.values(), key=lambda e: (time_of(e), e.seq)), time_of
        )
        for view_id, kept in by_view.items()
    }


def _replay_view(view_id: str, events: list[Event], time_of: Callable[[Event], int]) -> Replayed:
    r = Replayed(view_id)
    state, since = "idle", time_of(events[0])
    r.start_ms = since
    before_seek = "playing"
    bitrate: float | None = None

    def move(to: str, t: int) -> None:
        nonlocal state, since
        if state != "ended":
            r.times[state] = r.times.get(state, 0) + (t - since)
            if state == "playing" and bitrate is not None:
                r.bitrate_weighted += bitrate * (t - since)
                r.bitrate_weight += t - since
            if state == "ad" and r.first_frame_ms is None and r.intent_ms is not None:
                r.ad_before_ff += t - since
        state, since = to, t

    for e in events:
        t = time_of(e)
        if state == "ended":
            if isinstance(e, ViewEndEvent):
                r.end_ms, r.end_reason = t, e.reason
            continue
        flux = e.fluxdata
        if isinstance(e, PlayRequestedEvent) and state == "idle":
            r.intent_ms = t
            move("startup", t)
        elif isinstance(e, FirstFrameEvent) and r.first_frame_ms is None:
            r.first_frame_ms = t
            move("playing", t)
        elif isinstance(e, PlayingEvent) and state == "paused":
            move("playing", t)
        elif isinstance(e, PausedEvent) and state in ("playing", "rebuffering"):
            move("paused", t)
        elif isinstance(e, SeekStartEvent) and state in ("playing", "paused", "rebuffering"):
            before_seek = "paused" if state == "paused" else "playing"
            move("seeking", t)
        elif isinstance(e, SeekEndEvent) and state == "seeking":
            move(before_seek, t)
        elif isinstance(e, RebufferStartEvent):
            if state == "playing":
                r.rebuffer_count += 1
                r.rebuffer_starts.append(t)
                move("rebuffering", t)
            else:
                r.ignored += 1
        elif isinstance(e, RebufferEndEvent) and state == "rebuffering":
            move("playing", t)
        elif isinstance(e, AdBreakStartEvent):
            move("ad", t)
        elif isinstance(e, AdBreakEndEvent) and state == "ad":
            move("startup" if r.first_frame_ms is None else "playing", t)
        elif isinstance(e, ErrorEvent) and e.error.severity == "fatal":
            if r.fatal is None:
                r.fatal = (t, e.error.code, e.error.business)
            move("ended", t)
        elif isinstance(e, EndedEvent):
            r.saw_ended = True
            move("ended", t)
        elif isinstance(e, ViewEndEvent):
            move("ended", t)
            r.end_ms, r.end_reason = t, e.reason
        if flux is not None and flux.bitrate_kbps is not None:
            if isinstance(e, RenditionChangeEvent) and bitrate is not None:
                if flux.bitrate_kbps > bitrate:
                    r.upshifts += 1
                elif flux.bitrate_kbps < bitrate:
                    r.downshifts += 1
            if flux.bitrate_kbps != bitrate:
                move(state, t)  # close the stretch at the old bitrate
                bitrate = flux.bitrate_kbps
    if r.end_reason == "timeout":
        r.end_ms = time_of(events[-1])
        move("ended", r.end_ms)
    return r
