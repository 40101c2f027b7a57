"""The per-view state machine of docs/metrics.md, as a fold over compact events.

A view's timeline is folded event by event into a :class:`Fold`: its state, the time spent in
each state, counters and the outcome facts. Folding is deterministic and replayable: the
sessionizer can fold the same events again from a checkpoint (with ``sign=-1`` to withdraw
what they contributed to windows, then ``+1`` with a late event inserted).

State time is *attributed* lazily: ``Fold.attributed_to`` is the instant up to which it has
been added to the view's sums and reported to the :class:`Sink` (the window store). An event
attributes the time since then in the state it leaves; the sessionizer also extends it while
the view is silent (see ``flush``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol, TypeAlias

import msgspec

from playpipe.streams.records import DimValue

__all__ = [
    "STATE_NAMES",
    "Fold",
    "Sink",
    "ViewLike",
    "apply",
    "flush",
]

# States, in the order of the table of docs/metrics.md.
IDLE, STARTUP, PLAYING, PAUSED, SEEKING, REBUFFERING, AD, ENDED = range(8)
STATE_NAMES: Final = (
    "idle",
    "startup",
    "playing",
    "paused",
    "seeking",
    "rebuffering",
    "ad",
    "ended",
)

# Event codes. Codes below RETAINED change the timeline and are kept for replays.
(
    PLAY_REQUESTED,
    FIRST_FRAME,
    PLAYING_EVENT,
    PAUSED_EVENT,
    SEEK_START,
    SEEK_END,
    REBUFFER_START,
    REBUFFER_END,
    AD_BREAK_START,
    AD_BREAK_END,
    ENDED_EVENT,
    FATAL_ERROR,
    VIEW_END,
    RENDITION_CHANGE,
    BITRATE,
) = range(15)
RETAINED: Final = 15
VIEW_START: Final = 15
OTHER: Final = 16

# Facts reported to the sink at the event time that caused them.
ATTEMPT, START, START_FAILURE, PLAYBACK_FAILURE, REBUFFER, EXIT_BEFORE_START, VIEW_SCORE = range(7)

Extra: TypeAlias = tuple[str, str | None, bool] | str | None
"""A fatal error's (code, message, business), a ``view_end`` reason, or nothing."""


class ViewLike(Protocol):
    """What the fold and the sink read from the view they work for."""

    origin: int
    """Where an implicit intent starts: the ``view_start`` time, else the first event's."""
    dims: list[DimValue | None]
    wkey: tuple[DimValue | None, ...] | None


class Fold(msgspec.Struct, array_like=True, gc=False):
    """Everything a view's timeline determines; copied as a checkpoint. -1 means unknown."""

    state: int = IDLE
    pre_seek: int = PLAYING
    attempted: bool = False
    intent_ts: int = -1
    started: bool = False
    first_frame_ts: int = -1
    startup_ms: int = -1
    ad_before_start: int = 0
    reached_end: bool = False
    closed: bool = False
    end_ts: int = -1
    end_reason: str = ""
    fatal_ts: int = -1
    fatal_code: str = ""
    fatal_message: str | None = None
    fatal_business: bool = False
    attributed_to: int = 0
    t_startup: int = 0
    t_playing: int = 0
    t_rebuffering: int = 0
    t_paused: int = 0
    t_seeking: int = 0
    t_ad: int = 0
    bitrate: int = -1
    """Current bitrate in bit/s (integers keep sums exact and order-independent)."""
    br_ms: int = 0
    br_sum: int = 0
    rebuffers: int = 0
    upshifts: int = 0
    downshifts: int = 0
    ignored: int = 0
    pres: list[int] = msgspec.field(default_factory=list)
    """Per window size: start of the last window counted as concurrent, and as active start."""


class Sink(Protocol):
    """Receives a view's activity; ``sign`` is +1, -1 (withdraw) or 0 (bookkeeping only)."""

    def interval(
        self, view: ViewLike, fold: Fold, state: int, start: int, end: int, sign: int
    ) -> None:
        """Time ``[start, end)`` spent in ``state`` (only states that count: not idle/ended)."""

    def fact(self, view: ViewLike, fold: Fold, kind: int, ts: int, value: int, sign: int) -> None:
        """A counted fact at event time ``ts`` (``value``: startup ms or score * 10⁶)."""


def flush(view: ViewLike, f: Fold, t: int, sink: Sink, sign: int) -> None:
    """Attribute the time from ``f.attributed_to`` to ``t`` to the current state."""
    a = f.attributed_to
    if t <= a:
        return
    f.attributed_to = t
    s = f.state
    d = t - a
    if s == PLAYING:
        f.t_playing += d
        if f.bitrate >= 0:
            f.br_ms += d
            f.br_sum += f.bitrate * d
    elif s in (IDLE, ENDED):
        return
    elif s == REBUFFERING:
        f.t_rebuffering += d
    elif s == STARTUP:
        f.t_startup += d
    elif s == PAUSED:
        f.t_paused += d
    elif s == SEEKING:
        f.t_seeking += d
    else:
        f.t_ad += d
        if not f.started:
            f.ad_before_start += d
    sink.interval(view, f, s, a, t, sign)


def apply(
    view: ViewLike, f: Fold, code: int, ts: int, br: int, extra: Extra, sink: Sink, sign: int
) -> None:
    """Fold one event (``code`` at ``ts``, bitrate ``br`` bit/s or -1) into ``f``."""
    if br >= 0 and br != f.bitrate:
        flush(view, f, ts, sink, sign)
        old = f.bitrate
        if code == RENDITION_CHANGE and old >= 0:
            if br > old:
                f.upshifts += 1
            else:
                f.downshifts += 1
        f.bitrate = br
    handler = _HANDLERS[code]
    if handler is not None:
        handler(view, f, ts, extra, sink, sign)


Handler: TypeAlias = Callable[[ViewLike, Fold, int, Extra, Sink, int], None]


def _to(view: ViewLike, f: Fold, ts: int, state: int, sink: Sink, sign: int) -> None:
    flush(view, f, ts, sink, sign)
    f.state = state


def _implicit_intent(view: ViewLike, f: Fold, ts: int, sink: Sink, sign: int) -> None:
    """Autoplay (or a failure before any intent): intent at view start, startup until now."""
    flush(view, f, ts, sink, sign)
    origin = min(view.origin, ts)
    f.attempted = True
    f.intent_ts = origin
    sink.fact(view, f, ATTEMPT, origin, 0, sign)
    if ts > origin:
        f.t_startup += ts - origin
        sink.interval(view, f, STARTUP, origin, ts, sign)


def _start(view: ViewLike, f: Fold, ts: int, sink: Sink, sign: int) -> None:
    flush(view, f, ts, sink, sign)
    f.started = True
    f.first_frame_ts = ts
    f.startup_ms = max(0, ts - f.intent_ts - f.ad_before_start)
    sink.fact(view, f, START, ts, f.startup_ms, sign)
    f.state = PLAYING


def _play_requested(view: ViewLike, f: Fold, ts: int, extra: Extra, sink: Sink, sign: int) -> None:
    if f.state == IDLE:
        flush(view, f, ts, sink, sign)
        f.attempted = True
        f.intent_ts = ts
        sink.fact(view, f, ATTEMPT, ts, 0, sign)
        f.state = STARTUP
    # Elsewhere a repeated intent (resume, replay) changes nothing and is not "ignored".


def _first_frame(view: ViewLike, f: Fold, ts: int, extra: Extra, sink: Sink, sign: int) -> None:
    s = f.state
    if f.started or s not in (IDLE, STARTUP, AD):
        f.ignored += 1
        return
    if s == IDLE:
        _implicit_intent(view, f, ts, sink, sign)
    _start(view, f, ts, sink, sign)


def _playing(view: ViewLike, f: Fold, ts: int, extra: Extra, sink: Sink, sign: int) -> None:
    if f.state == PAUSED:
        _to(view, f, ts, PLAYING, sink, sign)
    elif f.state != PLAYING:
        f.ignored += 1


def _paused(view: ViewLike, f: Fold, ts: int, extra: Extra, sink: Sink, sign: int) -> None:
    if f.state in (PLAYING, REBUFFERING):
        _to(view, f, ts, PAUSED, sink, sign)
    elif f.state != PAUSED:
        f.ignored += 1


def _seek_start(view: ViewLike, f: Fold, ts: int, extra: Extra, sink: Sink, sign: int) -> None:
    s = f.state
    if s in (PLAYING, PAUSED, REBUFFERING):
        f.pre_seek = PAUSED if s == PAUSED else PLAYING
        _to(view, f, ts, SEEKING, sink, sign)
    elif s != SEEKING:
        f.ignored += 1


def _seek_end(view: ViewLike, f: Fold, ts: int, extra: Extra, sink: Sink, sign: int) -> None:
    if f.state == SEEKING:
        _to(view, f, ts, f.pre_seek, sink, sign)
    else:
        f.ignored += 1


def _rebuffer_start(view: ViewLike, f: Fold, ts: int, extra: Extra, sink: Sink, sign: int) -> None:
    if f.state == PLAYING:
        _to(view, f, ts, REBUFFERING, sink, sign)
        f.rebuffers += 1
        sink.fact(view, f, REBUFFER, ts, 0, sign)
    else:
        f.ignored += 1


def _rebuffer_end(view: ViewLike, f: Fold, ts: int, extra: Extra, sink: Sink, sign: int) -> None:
    if f.state == REBUFFERING:
        _to(view, f, ts, PLAYING, sink, sign)
    else:
        f.ignored += 1


def _ad_break_start(view: ViewLike, f: Fold, ts: int, extra: Extra, sink: Sink, sign: int) -> None:
    s = f.state
    if s == IDLE:
        _implicit_intent(view, f, ts, sink, sign)
        f.state = AD
    elif s in (STARTUP, PLAYING):
        _to(view, f, ts, AD, sink, sign)
    elif s != AD:
        f.ignored += 1


def _ad_break_end(view: ViewLike, f: Fold, ts: int, extra: Extra, sink: Sink, sign: int) -> None:
    if f.state == AD:
        _to(view, f, ts, PLAYING if f.started else STARTUP, sink, sign)
    else:
        f.ignored += 1


def _ended(view: ViewLike, f: Fold, ts: int, extra: Extra, sink: Sink, sign: int) -> None:
    if f.state in (PLAYING, PAUSED, REBUFFERING):
        _to(view, f, ts, ENDED, sink, sign)
        f.reached_end = True
    else:
        f.ignored += 1


def _fatal_error(view: ViewLike, f: Fold, ts: int, extra: Extra, sink: Sink, sign: int) -> None:
    if f.state == ENDED:
        f.ignored += 1
        return
    if f.state == IDLE:
        _implicit_intent(view, f, ts, sink, sign)
    _to(view, f, ts, ENDED, sink, sign)
    code, message, business = extra if isinstance(extra, tuple) else ("", None, False)
    f.fatal_ts = ts
    f.fatal_code = code
    f.fatal_message = message
    f.fatal_business = business
    if not business:
        kind = PLAYBACK_FAILURE if f.started else START_FAILURE
        sink.fact(view, f, kind, ts, 0, sign)


def _view_end(view: ViewLike, f: Fold, ts: int, extra: Extra, sink: Sink, sign: int) -> None:
    _to(view, f, ts, ENDED, sink, sign)
    f.closed = True
    f.end_ts = ts
    f.end_reason = extra if isinstance(extra, str) else "aborted"


_HANDLERS: Final[tuple[Handler | None, ...]] = (
    _play_requested,
    _first_frame,
    _playing,
    _paused,
    _seek_start,
    _seek_end,
    _rebuffer_start,
    _rebuffer_end,
    _ad_break_start,
    _ad_break_end,
    _ended,
    _fatal_error,
    _view_end,
    None,  # RENDITION_CHANGE: only its bitrate matters
    None,  # BITRATE: any other event whose bitrate changed
    None,  # VIEW_START
    None,  # OTHER
)
