"""The simulated player: plays one view on the simulated clock.

:func:`play_view` walks a view through idle → startup (with an optional pre-roll break) →
playing with rebuffers, pauses, seeks, rendition switches and warnings → an end (content
ended, viewer left, fatal error, business error, exit before start, or just silence). It
returns the dictionary events the SDK would send, with ``seq`` from 0 and ``client_ts`` on
the viewer's skewed clock, and the :class:`~playpipe.simulate.timeline.Timeline` of what
truly happened. All instants are on the 10 ms grid.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from playpipe.dictionary import (
    EVENT_CLASSES,
    AdNode,
    ErrorNode,
    Event,
    FluxdataNode,
)
from playpipe.simulate.options import SimOptions
from playpipe.simulate.population import (
    GRID_MS,
    Quality,
    Viewer,
    ViewSetup,
    grid,
    lognormal,
    new_id,
)
from playpipe.simulate.timeline import Fatal, Timeline

__all__ = ["PlayedView", "play_view"]

_CLASS: dict[str, Any] = {str(c.__struct_config__.tag): c for c in EVENT_CLASSES}
_NEVER = math.inf

_WARNINGS = (
    ("FRAG_LOAD_TIMEOUT", "Segment request timed out; retrying"),
    ("BUFFER_STALLED_WARN", "Buffer nearly empty; switching down"),
    ("KEY_SYSTEM_SLOW", "License request took over 2 s"),
    ("MEDIA_ERR_DECODE_RECOVERED", "Decoder error recovered by a flush"),
)
_START_FAILURES = (
    ("MANIFEST_LOAD_ERROR", "Manifest request failed: HTTP 503"),
    ("MEDIA_ERR_SRC_NOT_SUPPORTED", "No playable source"),
    ("DRM_LICENSE_FAILED", "License server refused the request"),
)
_PLAYBACK_FAILURES = (
    ("MEDIA_ERR_NETWORK", "Segment requests failed 6 times: HTTP 504"),
    ("MEDIA_ERR_DECODE", "Unrecoverable decoder error"),
    ("BUFFER_APPEND_ERROR", "SourceBuffer append failed"),
)
_BUSINESS_START = (
    ("GEO_BLOCKED", "This content is not available in your country"),
    ("ENTITLEMENT_REQUIRED", "A subscription is required"),
)
_BUSINESS_PLAYING = (("CONCURRENT_STREAM_LIMIT", "Too many streams on this account"),)


@dataclass(slots=True)
class PlayedView:
    """One played view: its events in ``seq`` order with their true times, and the truth."""

    timeline: Timeline
    times: list[int]
    """True time of each event (ms); the event's ``client_ts`` is it plus the viewer's skew."""
    events: list[Event]
    """In ``seq`` order."""
    ends_session: bool
    """The page died with this view (it ended silently): the viewer plays no further view."""


_Spec = tuple[int, int, int, str, str, dict[str, Any]]
"""``(t, 0 for events / 1 for heartbeats, order, event_type, event_id, extra fields)``: the
first three sort the events of a view."""


def _ceil_grid(at: float, now: int) -> float:
    """``at`` rounded up to the grid, at least one grid step after ``now``."""
    if at == _NEVER:
        return _NEVER
    return now + max(GRID_MS, math.ceil((at - now) / GRID_MS) * GRID_MS)


class _Ended(Exception):
    """The view is over (raised out of the playing loop)."""


class _Player:
    def __init__(
        self,
        rng: random.Random,
        viewer: Viewer,
        setup: ViewSetup,
        options: SimOptions,
        quality: Quality,
        start_ms: int,
        horizon_ms: int,
        first_in_session: bool,
    ) -> None:
        self.rng = rng
        self.viewer = viewer
        self.setup = setup
        self.o = options
        self.q = quality
        self.t = start_ms
        self.horizon = horizon_ms
        self.first_in_session = first_in_session
        self.state = "idle"
        self.playhead = 0
        self.specs: list[_Spec] = []
        self.anchors: list[tuple[int, str, int]] = []
        """``(t, state, playhead at t)`` at each state change, for heartbeats."""
        self.rung = 0
        self.rungs: list[tuple[int, int]] = []
        """``(t, rung)`` at each bitrate change, for heartbeats."""
        self.silent = False
        self.tl = Timeline(setup.view_id, viewer.viewer_id, viewer.session_id, setup.dims)
        if setup.content.duration_ms is None:  # live: the playhead is the stream position
            self.playhead = grid(rng.uniform(3_600_000, 36_000_000))

    # -- recording --------------------------------------------------------------------------
    def emit(self, kind: str, **extra: Any) -> str:
        event_id = new_id(self.rng)
        self.specs.append((self.t, 0, len(self.specs), kind, event_id, extra))
        return event_id

    def enter(self, state: str, kind: str, **extra: Any) -> str:
        event_id = self.emit(kind, **extra)
        self.state = state
        self.tl.changes.append((self.t, state, event_id))
        self.anchors.append((self.t, state, self.playhead))
        return event_id

    def wait(self, duration: int) -> bool:
        """Stay in the current state for ``duration``; False when the run's horizon cuts it."""
        target = self.t + duration
        if target >= self.horizon:
            self._advance(self.horizon - self.t)
            return False
        self._advance(duration)
        return True

    def _advance(self, duration: int) -> None:
        if self.state == "playing":
            self.playhead += duration
        self.t += duration

    def finish(self, reason: str) -> None:
        """End with ``view_end`` (reason ended, aborted or error)."""
        event_id = self.emit("view_end", reason=reason)
        if self.state != "ended":
            self.state = "ended"
            self.tl.changes.append((self.t, "ended", event_id))
            self.anchors.append((self.t, "ended", self.playhead))
        self.tl.end = (self.t, event_id)
        self.tl.end_reason = reason

    def leave(self, silent: bool) -> None:
        """The viewer leaves now: with ``view_end`` aborted, or silently (the page died)."""
        if silent:
            self.silent = True
        else:
            self.finish("aborted")

    def fatal(self, codes: tuple[tuple[str, str], ...], business: bool) -> None:
        code, message = self.rng.choice(codes)
        node = ErrorNode(code=code, severity="fatal", message=message, business=business)
        event_id = self.enter("ended", "error", error=node)
        self.tl.fatal = Fatal(self.t, event_id, code, message, business)
        self.finish("error")

    def _flux_rendition(self) -> FluxdataNode:
        r = self.setup.ladder[self.rung]
        return FluxdataNode(
            playhead_ms=self.playhead, bitrate_kbps=r.bitrate_kbps, rendition=r.label
        )

    def set_rung(self, rung: int, kind: str) -> None:
        old = self.setup.ladder[self.rung].bitrate_kbps
        self.rung = rung
        new = self.setup.ladder[rung].bitrate_kbps
        event_id = self.emit(kind, fluxdata=self._flux_rendition())
        self.tl.bitrates.append((self.t, float(new), event_id))
        self.rungs.append((self.t, rung))
        if kind == "rendition_change" and new != old:
            self.tl.shifts.append((self.t, 1 if new > old else -1, event_id))

    # -- the view ---------------------------------------------------------------------------
    def play(self) -> None:
        o, rng = self.o, self.rng
        self.enter("idle", "view_start")
        if self.first_in_session:
            self.emit("player_ready")
        if rng.random() < o.no_attempt_share:
            if self.wait(grid(rng.uniform(2_000, 40_000))):
                self.leave(rng.random() < 0.3)
            else:
                self.finish("aborted")
            return
        delay = 0 if rng.random() < o.autoplay_share else grid(lognormal(rng, 1_200, 0.7))
        if not self.wait(min(delay, 30_000)):
            self.finish("aborted")
            return
        event_id = self.enter("startup", "play_requested")
        self.tl.intent = (self.t, event_id)
        if self.startup():
            self.playback()

    def startup(self) -> bool:
        """Play intent to first frame; False when the view ended before it."""
        o, rng, t0 = self.o, self.rng, self.t
        cap = o.max_startup_ms
        patience = grid(min(cap, lognormal(rng, o.patience_median_ms, 0.7)), 500)
        content_ms = grid(min(cap, self.q.startup_ms(rng, t0)), 100)
        silent_exit = rng.random() < 0.2
        if rng.random() < o.business_failure_share:
            if self.wait(min(grid(rng.uniform(100, 1_500)), content_ms - 10)):
                self.fatal(_BUSINESS_START, business=True)
            else:
                self.finish("aborted")
            return False
        waited = 0
        if self.setup.content.ads and rng.random() < o.ad_share:
            ad_request = grid(lognormal(rng, 500, 0.5), 100)
            if ad_request >= patience:
                return self._exit_startup(patience, silent_exit)
            if not self.wait(ad_request):
                self.finish("aborted")
                return False
            waited = ad_request
            if not self.ad_break():
                return False
            content_ms = grid(content_ms * 0.5, 100)
        if rng.random() < self.q.start_failure_rate(t0):
            fail_in = grid(rng.uniform(0.2, 1.0) * content_ms)
            if waited + fail_in < patience:
                if self.wait(fail_in):
                    self.fatal(_START_FAILURES, business=False)
                else:
                    self.finish("aborted")
                return False
        if waited + content_ms > patience:
            return self._exit_startup(patience - waited, silent_exit)
        if not self.wait(content_ms):
            self.finish("aborted")
            return False
        return True

    def _exit_startup(self, after: int, silent: bool) -> bool:
        if self.wait(max(after, 10)):
            self.leave(silent)
        else:
            self.finish("aborted")
        return False

    def ad_break(self) -> bool:
        """A pre-roll break of one or two ads; False when the view ended during it."""
        rng = self.rng
        break_id = f"brk-{rng.randrange(1_000_000):06d}"
        ads = 1 if rng.random() < 0.7 else 2
        pod = AdNode(break_id=break_id, position="preroll", system="ima")
        self.enter("ad", "ad_break_start", ad=pod)
        for _ in range(ads):
            duration = rng.choice((15_000, 15_000, 20_000, 30_000))
            skippable = rng.random() < 0.4
            node = AdNode(
                ad_id=f"ad-{rng.randrange(100_000):05d}",
                break_id=break_id,
                position="preroll",
                creative_id=f"cr-{rng.randrange(100_000):05d}",
                duration_ms=duration,
                system="ima",
                skippable=skippable,
            )
            if not self.wait(grid(lognormal(rng, 400, 0.5))):
                self.finish("aborted")
                return False
            self.emit("ad_start", ad=node)
            if not self.play_ad(node, duration, skippable):
                return False
        self.enter("startup", "ad_break_end", ad=pod)
        return True

    def play_ad(self, node: AdNode, duration: int, skippable: bool) -> bool:
        rng = self.rng
        quarter = duration // 4
        leave_at = rng.uniform(0.05, 0.95) * duration if rng.random() < self.o.ad_exit_share else -1
        skip_at = (
            grid(rng.uniform(5_000, duration - 1_000)) if skippable and rng.random() < 0.3 else -1
        )
        elapsed = 0
        for q in (1, 2, 3, 4):
            step_end = q * quarter
            for stop_at, what in ((leave_at, "leave"), (skip_at, "skip")):
                if elapsed <= stop_at < step_end:
                    if not self.wait(grid(stop_at - elapsed)):
                        self.finish("aborted")
                        return False
                    if what == "leave":
                        self.leave(rng.random() < 0.2)
                        return False
                    self.emit("ad_skip", ad=node)
                    return True
            if not self.wait(step_end - elapsed):
                self.finish("aborted")
                return False
            elapsed = step_end
            if q < 4:
                ad = AdNode(
                    ad_id=node.ad_id, break_id=node.break_id, position="preroll", quartile=q
                )
                self.emit("ad_quartile", ad=ad)
        self.emit("ad_end", ad=node)
        return True

    # -- playing ----------------------------------------------------------------------------
    def _sustainable(self) -> int:
        bandwidth = lognormal(self.rng, self.viewer.bandwidth_kbps, 0.35)
        rung = 0
        for i, r in enumerate(self.setup.ladder):
            if r.bitrate_kbps <= 0.7 * bandwidth:
                rung = i
        return rung

    def _next(self, per_ms: Callable[[int], float], start: int) -> float:
        """Time of the next event of a Poisson process whose rate may step at degradation."""
        rate = per_ms(start)
        at = start + self.rng.expovariate(rate) if rate > 0 else _NEVER
        step = self.q.degraded_from
        if step is not None and start < step < at and per_ms(step) != rate:
            rate = per_ms(step)
            at = step + self.rng.expovariate(rate) if rate > 0 else _NEVER
        return at

    def _poisson(self, per_min: float) -> float:
        return self.t + self.rng.expovariate(per_min / 60_000) if per_min > 0 else _NEVER

    def playback(self) -> None:
        o, rng = self.o, self.rng
        self.rung = min(self._sustainable(), 3)
        self.state = "playing"
        event_id = self.emit("first_frame", fluxdata=self._flux_rendition())
        self.tl.first_frame = (self.t, event_id)
        self.tl.changes.append((self.t, "playing", event_id))
        self.anchors.append((self.t, "playing", self.playhead))
        self.tl.bitrates.append(
            (self.t, float(self.setup.ladder[self.rung].bitrate_kbps), event_id)
        )
        self.rungs.append((self.t, self.rung))
        self.emit("playing", fluxdata=FluxdataNode(playhead_ms=self.playhead))
        duration = self.setup.content.duration_ms
        if duration is None:
            watch: float = lognormal(rng, o.live_watch_median_ms, 1.0)
        elif rng.random() < o.completion_share:
            watch = _NEVER
        else:
            watch = duration * rng.betavariate(1.2, 2.5)
        self.leave_at = self.t + watch
        self.silent_leave = rng.random() < o.silent_leave_share
        self.business_at = (
            self.t + rng.uniform(30_000, 1_200_000)
            if rng.random() < o.business_failure_after_start_share
            else _NEVER
        )
        try:
            while True:
                self.step()
        except _Ended:
            return

    def step(self) -> None:
        """Play until the next thing that happens, then handle it."""
        o, q, t = self.o, self.q, self.t
        duration = self.setup.content.duration_ms
        # In priority order: on a tie the first one wins.
        candidates: list[tuple[float, str]] = [
            (self.horizon, "horizon"),
            (t + duration - self.playhead if duration else _NEVER, "content_end"),
            (self.leave_at, "leave"),
            (self.business_at, "business"),
            (self._next(q.failures_per_ms, t), "failure"),
            (self._next(q.rebuffers_per_ms, t), "rebuffer"),
            (self._poisson(o.pauses_per_min), "pause"),
            (self._poisson(o.seeks_per_min) if duration else _NEVER, "seek"),
            (self._poisson(o.abr_switches_per_min), "abr"),
            (self._poisson(o.warnings_per_min), "warning"),
        ]
        best, what = _NEVER, "horizon"
        for at, name in candidates:
            snapped = _ceil_grid(at, t)
            if snapped < best:
                best, what = snapped, name
        if not self.wait(int(best) - t) or what == "horizon":
            self._end_now("horizon")
        getattr(self, "on_" + what)()

    def _end_now(self, why: str) -> None:
        if why == "horizon":
            self.finish("aborted")
        else:
            self.leave(self.silent_leave)
        raise _Ended

    def hold(self, state_duration: int) -> None:
        """Stay in a non-playing state, unless the viewer leaves or the run ends first."""
        end = self.t + state_duration
        if self.leave_at < end:
            self.wait(max(10, grid(self.leave_at - self.t)))
            self._end_now("horizon" if self.t >= self.horizon else "leave")
        if not self.wait(state_duration):
            self._end_now("horizon")

    def on_rebuffer(self) -> None:
        length = grid(min(self.o.max_rebuffer_ms, self.q.rebuffer_ms(self.rng, self.t)), 100)
        event_id = self.enter("rebuffering", "rebuffer_start", fluxdata=self._flux_playhead())
        self.tl.rebuffers.append((self.t, event_id))
        if self.rng.random() < 0.08:  # the stall drives the viewer away
            self.leave_at = min(self.leave_at, self.t + self.rng.uniform(0.3, 1.0) * length)
        self.hold(length)
        self.enter("playing", "rebuffer_end", fluxdata=self._flux_playhead())
        self.emit("playing", fluxdata=self._flux_playhead())
        if self.rung > 0 and self.rng.random() < 0.6:
            self.set_rung(self.rung - 1, "rendition_change")

    def on_pause(self) -> None:
        length = grid(min(self.o.max_pause_ms, lognormal(self.rng, self.o.pause_median_ms, 0.9)))
        self.enter("paused", "paused", fluxdata=self._flux_playhead())
        self.hold(length)
        self.enter("playing", "playing", fluxdata=self._flux_playhead())

    def on_seek(self) -> None:
        duration = self.setup.content.duration_ms or 0
        target = grid(self.rng.uniform(0, max(0, duration - 15_000)), 0)
        length = grid(min(5_000, self.q.seek_ms(self.rng)), 100)
        self.enter("seeking", "seek_start", fluxdata=self._flux_playhead())
        self.hold(length)
        self.playhead = target
        self.enter("playing", "seek_end", fluxdata=self._flux_playhead())
        self.emit("playing", fluxdata=self._flux_playhead())

    def on_abr(self) -> None:
        target = self._sustainable()
        if target != self.rung:
            self.set_rung(self.rung + (1 if target > self.rung else -1), "rendition_change")

    def on_warning(self) -> None:
        code, message = self.rng.choice(_WARNINGS)
        self.emit("error", error=ErrorNode(code=code, severity="warning", message=message))

    def on_failure(self) -> None:
        self.fatal(_PLAYBACK_FAILURES, business=False)
        raise _Ended

    def on_business(self) -> None:
        self.fatal(_BUSINESS_PLAYING, business=True)
        raise _Ended

    def on_content_end(self) -> None:
        self.enter("ended", "ended", fluxdata=self._flux_playhead())
        self.finish("ended")
        raise _Ended

    def on_leave(self) -> None:
        self._end_now("leave")

    def _flux_playhead(self) -> FluxdataNode:
        return FluxdataNode(playhead_ms=self.playhead)

    # -- output -----------------------------------------------------------------------------
    def heartbeats(self, stop: int) -> list[_Spec]:
        """Heartbeats every ``heartbeat_ms`` from the first frame, while playing or
        rebuffering, strictly before ``stop``."""
        if self.tl.first_frame is None:
            return []
        period, origin = self.o.heartbeat_ms, self.tl.first_frame[0]
        beats: list[_Spec] = []
        bit_times = [r[0] for r in self.rungs]
        ladder = self.setup.ladder
        for i, (start, state, playhead) in enumerate(self.anchors):
            if state not in ("playing", "rebuffering"):
                continue
            end = self.anchors[i + 1][0] if i + 1 < len(self.anchors) else stop
            k = max(1, -(-(start - origin) // period))
            h = origin + k * period
            while h < min(end, stop):
                moved = h - start if state == "playing" else 0
                rung = ladder[self.rungs[bisect.bisect_right(bit_times, h) - 1][1]]
                flux = FluxdataNode(
                    playhead_ms=playhead + moved,
                    bitrate_kbps=rung.bitrate_kbps,
                    rendition=rung.label,
                )
                beats.append((h, 1, len(beats), "heartbeat", new_id(self.rng), {"fluxdata": flux}))
                h += period
        return beats

    def build(self, property_key: str) -> tuple[list[int], list[Event]]:
        beats = self.heartbeats(self.t if self.silent else self.tl.end[0])
        keyed = self.specs + beats
        keyed.sort()  # (t, heartbeats after other events of the same instant, order)
        v, s = self.viewer, self.setup
        view_id, viewer_id, session_id = s.view_id, v.viewer_id, v.session_id
        player, content, geo, network = v.player, s.content_node, v.geo, s.network
        skew = v.skew_ms
        times = [k[0] for k in keyed]
        events: list[Event] = [
            _CLASS[kind](
                event_id=event_id,
                seq=seq,
                client_ts=t + skew,
                view_id=view_id,
                viewer_id=viewer_id,
                session_id=session_id,
                property=property_key,
                player=player,
                content=content,
                geo=geo,
                network=network,
                **extra,
            )
            for seq, (t, _, _, kind, event_id, extra) in enumerate(keyed)
        ]
        if self.silent:
            last_t = times[-1]
            self.tl.end = (last_t, events[-1].event_id)
            self.tl.end_reason = "timeout"
            self.tl.changes = [c for c in self.tl.changes if c[0] <= last_t]
        self.tl.event_count = len(events)
        return times, events


def play_view(
    rng: random.Random,
    viewer: Viewer,
    setup: ViewSetup,
    options: SimOptions,
    quality: Quality,
    start_ms: int,
    horizon_ms: int,
    *,
    first_in_session: bool,
    property_key: str,
) -> PlayedView:
    """Play one view from ``start_ms``; the view is cut by ``view_end`` aborted at
    ``horizon_ms`` (the end of the run) if it lasts that long."""
    player = _Player(rng, viewer, setup, options, quality, start_ms, horizon_ms, first_in_session)
    player.play()
    times, events = player.build(property_key)
    return PlayedView(player.tl, times, events, ends_session=player.silent)
