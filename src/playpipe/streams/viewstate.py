"""A view's live state, how events become compact timeline entries, and its final record."""

from __future__ import annotations

import struct
from typing import Final

import msgspec

from playpipe.dictionary import (
    AdBreakEndEvent,
    AdBreakStartEvent,
    EndedEvent,
    ErrorEvent,
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
    ViewStartEvent,
)
from playpipe.streams import qoe
from playpipe.streams import timeline as tl
from playpipe.streams.aggsettings import DIMENSIONS
from playpipe.streams.dims import ALL_MISSING
from playpipe.streams.records import DimValue, FatalError, ViewRecord
from playpipe.streams.slim import AnyEvent, SlimViewEnd, twin

__all__ = [
    "CODES",
    "Entry",
    "View",
    "build_record",
    "compact",
    "is_twin",
    "mark_seen",
    "pack",
    "pack_one",
    "retained_count",
    "unpack",
]

CODES: Final[dict[type, int]] = {
    PlayRequestedEvent: tl.PLAY_REQUESTED,
    FirstFrameEvent: tl.FIRST_FRAME,
    PlayingEvent: tl.PLAYING_EVENT,
    PausedEvent: tl.PAUSED_EVENT,
    SeekStartEvent: tl.SEEK_START,
    SeekEndEvent: tl.SEEK_END,
    RebufferStartEvent: tl.REBUFFER_START,
    RebufferEndEvent: tl.REBUFFER_END,
    AdBreakStartEvent: tl.AD_BREAK_START,
    AdBreakEndEvent: tl.AD_BREAK_END,
    EndedEvent: tl.ENDED_EVENT,
    ErrorEvent: tl.FATAL_ERROR,
    ViewEndEvent: tl.VIEW_END,
    RenditionChangeEvent: tl.RENDITION_CHANGE,
    ViewStartEvent: tl.VIEW_START,
}
"""Event class → timeline code; classes not listed are ``OTHER`` (errors are checked)."""
CODES.update({twin(cls): code for cls, code in list(CODES.items())})

Entry = tuple[int, int, int, int]
"""A retained timeline event: (event_ts, seq, code, bitrate bit/s or -1)."""

_WIDE: Final = struct.Struct("<qqbq")
"""An entry of any values a checkpoint can hold (25 bytes)."""
_NARROW: Final = struct.Struct("<qIbi")
"""An entry whose seq is below 2**32 and bitrate below 2**31 bit/s (17 bytes): every real one."""
NARROW: Final = _NARROW.size
_FORMATS: Final = {_WIDE.size: _WIDE, _NARROW.size: _NARROW}


class View(msgspec.Struct, array_like=True, gc=False):
    """One open view: its buffer, dedupe state, dimensions, fold and correction history."""

    view_id: str
    first_ts: int
    """Smallest event time seen."""
    dims: list[DimValue | None]
    """Values of ``AggregationSettings.all_dimensions``, from the first event carrying each."""
    fold: tl.Fold
    missing: int = ALL_MISSING
    viewer_id: str | None = None
    vs_ts: int = -1
    """Time of the ``view_start`` event, -1 if none."""
    origin: int = -1
    """``vs_ts`` if known, else ``first_ts``: where an implicit (autoplay) intent starts."""
    last_ts: int = -1
    """Largest event time processed."""
    cursor_ts: int = -1
    cursor_seq: int = -1
    seq_floor: int = 0
    seq_bits: int = 0
    """Seen ``seq`` values: every seq below ``seq_floor``, and the set bits above it."""
    events: int = 0
    dups: int = 0
    late: int = 0
    wkey: tuple[DimValue | None, ...] | None = None
    """The view's key in the window store, fixed at its first contribution."""
    cp: tl.Fold | None = None
    """Checkpoint: the fold before the retained entries (``None``: the view's start)."""
    cp_ts: int = -1
    cp_seq: int = -1
    retained: bytes = b""
    """Timeline entries folded since the checkpoint, packed (``entry_size`` bytes each)."""
    extras: list[tuple[int, int, tl.Extra]] | None = None
    pending: list[AnyEvent] | None = None
    """Events received but not yet processed, in arrival order."""
    due: int = -1
    sched: int = -1
    tsched: int = -1
    entry_size: int = _WIDE.size
    """Bytes per retained entry: ``NARROW`` until a value does not fit (checkpoints of
    earlier versions, without this field, hold wide entries)."""


def mark_seen(v: View, off: int) -> None:
    """Mark ``seq_floor + off`` as seen; keeps ``seq_bits`` short (dense seqs shift out)."""
    if off >= 1024:  # far ahead (lost events, a jump): forget the oldest unseen seqs
        shift = off - 512
        v.seq_bits >>= shift
        v.seq_floor += shift
        off -= shift
    bits = v.seq_bits | (1 << off)
    if bits & 1:
        ones = (bits ^ (bits + 1)).bit_length() - 1
        bits >>= ones
        v.seq_floor += ones
    v.seq_bits = bits


def is_twin(v: View, e: AnyEvent) -> bool:
    """Whether ``e`` reuses a buffered event's seq with another event id (not a copy)."""
    others = [p for p in v.pending or () if p.seq == e.seq]
    return bool(others) and all(p.event_id != e.event_id for p in others)


def _fits(seq: int, br: int) -> bool:
    return 0 <= seq < 4_294_967_296 and br < 2_147_483_648


def pack(v: View, entries: list[Entry]) -> None:
    """Replace the view's retained entries (exact size: a view keeps few, appending copies)."""
    if v.entry_size == NARROW and all(_fits(e[1], e[3]) for e in entries):
        v.retained = b"".join(_NARROW.pack(*entry) for entry in entries)
    else:
        v.retained = b"".join(_WIDE.pack(*entry) for entry in entries)
        v.entry_size = _WIDE.size


def pack_one(v: View, ts: int, seq: int, code: int, br: int) -> None:
    """Append one entry to the view's retained entries."""
    if v.entry_size == NARROW:
        if _fits(seq, br):
            v.retained += _NARROW.pack(ts, seq, code, br)
            return
        v.retained = b"".join(_WIDE.pack(*entry) for entry in unpack(v))  # widen them all
        v.entry_size = _WIDE.size
    v.retained += _WIDE.pack(ts, seq, code, br)


def unpack(v: View) -> list[Entry]:
    """The view's retained entries."""
    return list(_FORMATS[v.entry_size].iter_unpack(v.retained))


def retained_count(v: View) -> int:
    """How many entries the view retains."""
    return len(v.retained) // v.entry_size


_BPS: dict[float, int] = {}
"""kbps → bit/s of the bitrates seen: players use a few renditions, and views that share
one int object (not one each) hold less memory; reset when it grows big."""


def bitrate_bps(event: AnyEvent) -> int:
    """The event's ``fluxdata.bitrate_kbps`` in bit/s, or -1."""
    fx = event.fluxdata
    if fx is None:
        return -1
    kbps = fx.bitrate_kbps
    if kbps is None:
        return -1
    bps = _BPS.get(kbps)
    if bps is None:
        if len(_BPS) > 10_000:
            _BPS.clear()
        bps = _BPS[kbps] = int(kbps * 1000 + 0.5)
    return bps


def compact(event: AnyEvent) -> tuple[int, tl.Extra]:
    """Timeline code and extra of an event; warnings are ``OTHER``."""
    code = CODES.get(type(event), tl.OTHER)
    if code == tl.FATAL_ERROR:
        err = event.error
        if err is None or err.severity != "fatal":
            return tl.OTHER, None
        return code, (err.code, err.message, err.business)
    if code == tl.VIEW_END and isinstance(event, ViewEndEvent | SlimViewEnd):
        return code, event.reason
    return code, None


def _outcome(f: tl.Fold) -> str:
    if f.fatal_ts >= 0:
        if f.fatal_business:
            return "business_failure"
        return "playback_failure" if f.started else "start_failure"
    if f.started:
        return "ended" if f.reached_end else "abandoned"
    return "exit_before_start" if f.attempted else "no_attempt"


def build_record(v: View, custom_keys: tuple[str, ...]) -> ViewRecord:
    """The view record of a view whose fold is final (ended by ``view_end`` or timed out)."""
    f = v.fold
    outcome = _outcome(f)
    watch = f.t_startup + f.t_playing + f.t_rebuffering + f.t_seeking
    played = f.t_playing + f.t_rebuffering
    startup = qoe.startup_score(f.startup_ms) if f.started else None
    smooth = qoe.smoothness_score(f.rebuffers, f.t_rebuffering, watch) if f.started else None
    success = qoe.success_score(outcome)
    d = v.dims
    fatal = None
    if f.fatal_ts >= 0:
        fatal = FatalError(
            code=f.fatal_code, message=f.fatal_message, business=f.fatal_business, ts_ms=f.fatal_ts
        )
    return ViewRecord(
        view_id=v.view_id,
        viewer_id=v.viewer_id,
        start_ms=v.first_ts,
        end_ms=f.end_ts if f.closed else max(v.last_ts, v.first_ts),
        end_reason=f.end_reason if f.closed else "timeout",  # type: ignore[arg-type]
        outcome=outcome,  # type: ignore[arg-type]
        attempted=f.attempted,
        started=f.started,
        play_intent_ms=f.intent_ts if f.attempted else None,
        first_frame_ms=f.first_frame_ts if f.started else None,
        startup_time_ms=f.startup_ms if f.started else None,
        playing_time_ms=f.t_playing,
        rebuffering_time_ms=f.t_rebuffering,
        paused_time_ms=f.t_paused,
        seeking_time_ms=f.t_seeking,
        ad_time_ms=f.t_ad,
        watch_time_ms=watch,
        rebuffer_count=f.rebuffers,
        rebuffer_ratio=f.t_rebuffering / played if played else None,
        rebuffer_frequency_per_min=f.rebuffers * 60_000 / f.t_playing if f.t_playing else 0.0,
        avg_bitrate_kbps=f.br_sum / f.br_ms / 1000 if f.br_ms else None,
        upshifts=f.upshifts,
        downshifts=f.downshifts,
        fatal_error=fatal,
        startup_score=startup,
        smoothness_score=smooth,
        success_score=success,
        experience_score=qoe.experience_score(success, startup, smooth),
        event_count=v.events,
        duplicate_count=v.dups,
        ignored_count=f.ignored,
        late_count=v.late,
        content_id=_str(d[0]),
        stream_type=_str(d[1]),
        player_name=_str(d[2]),
        player_version=_str(d[3]),
        device_type=_str(d[4]),
        os=_str(d[5]),
        browser=_str(d[6]),
        country=_str(d[7]),
        region=_str(d[8]),
        asn=d[9] if isinstance(d[9], int) else None,
        isp=_str(d[10]),
        cdn=_str(d[11]),
        property=_str(d[12]),
        custom={
            k: val
            for k, val in zip(custom_keys, d[len(DIMENSIONS) :], strict=True)
            if val is not None
        },
    )


def _str(value: DimValue | None) -> str | None:
    return value if isinstance(value, str) else None
