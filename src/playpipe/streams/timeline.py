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

from typing import Final, Protocol, TypeAlias

import msgspec

from playpipe.streams.records import DimValue

__all__ = [
    "STATE_NAMES",
    "Fold",
    "Sink",
    "ViewLike",
    "account",
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
Key: TypeAlias = tuple[DimValue | None, ...]
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

    def key_of(self, view: ViewLike) -> Key:
        """The view's key in the sink (fixed once the view contributed)."""

    def interval_many(
        self, key: Key, folds: list[Fold], state: int, start: int, end: int, bitrate: int
    ) -> None:
        """Like ``interval`` (sign +1) for views of one key that share state and times."""


def flush(view: ViewLike, f: Fold, t: int, sink: Sink, sign: int) -> None:
    """Attribute the time from ``f.attributed_to`` to ``t`` to the current state."""
    a = f.attributed_to
    if t <= a:
        return
    f.attributed_to = t
    s = f.state
    if s != IDLE and s != ENDED:
        account(f, s, t - a)
        sink.interval(view, f, s, a, t, sign)


def account(f: Fold, s: int, d: int) -> None:
    """Add ``d`` ms in state ``s`` to the view's own sums (not to windows)."""
    if s == PLAYING:
        f.t_playing += d
        if f.bitrate >= 0:
            f.br_ms += d
            f.br_sum += f.bitrate * d
    elif s == REBUFFERING:
        f.t_rebuffering += d
    elif s == STARTUP:
        f.t_startup += d
    elif s == PAUSED:
        f.t_paused += d
    elif s == SEEKING:
        f.t_seeking += d
    elif s == AD:
        f.t_ad += d
        if not f.started:
            f.ad_before_start += d
