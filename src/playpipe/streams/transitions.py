"""The transitions of the state table of docs/metrics.md: one handler per state event.

``apply`` folds one compact event into a view's :class:`~playpipe.streams.timeline.Fold`:
first its bitrate (a change attributes the time so far at the old bitrate), then its state
transition. An event the table does not allow where it comes is counted in ``Fold.ignored``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeAlias

from playpipe.streams.timeline import (
    AD,
    ATTEMPT,
    ENDED,
    IDLE,
    PAUSED,
    PLAYBACK_FAILURE,
    PLAYING,
    REBUFFER,
    REBUFFERING,
    RENDITION_CHANGE,
    SEEKING,
    START,
    START_FAILURE,
    STARTUP,
    Extra,
    Fold,
    Sink,
    ViewLike,
    flush,
)

__all__ = ["apply"]


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
    # `playing` means the playhead runs: it also closes a seek or a rebuffer whose end event
    # never arrived (a lost batch), as the HTML5 `playing` event does after `seeked`.
    if f.state in (PAUSED, SEEKING, REBUFFERING):
        _to(view, f, ts, PLAYING, sink, sign)
    elif f.state != PLAYING:
        f.ignored += 1


def _paused(view: ViewLike, f: Fold, ts: int, extra: Extra, sink: Sink, sign: int) -> None:
    if f.state in (PLAYING, REBUFFERING, SEEKING):
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
