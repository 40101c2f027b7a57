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
    ViewStartEvent,
)
from playpipe.streams import qoe
from playpipe.streams import timeline as tl
from playpipe.streams.aggsettings import DIMENSIONS
from playpipe.streams.records import DimValue, FatalError, ViewRecord

__all__ = ["CODES", "Entry", "View", "build_record", "compact", "fill_dims", "pack", "unpack"]

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

Entry = tuple[int, int, int, int]
"""A retained timeline event: (event_ts, seq, code, bitrate bit/s or -1)."""

_ENTRY: Final = struct.Struct("<qqbq")

# Groups of dimensions: a bit is set while some value of the group is still unknown.
_CONTENT, _PLAYER, _DEVICE, _GEO, _NETWORK, _PROPERTY, _VIEWER, _CUSTOM = (1 << i for i in range(8))
ALL_MISSING: Final = 0xFF
_INTERNED: dict[str, str] = {}


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
    retained: bytearray = msgspec.field(default_factory=bytearray)
    """Timeline entries folded since the checkpoint, packed (25 bytes each)."""
    extras: list[tuple[int, int, tl.Extra]] | None = None
    pending: list[Event] | None = None
    """Events received but not yet processed, in arrival order."""
    due: int = -1
    sched: int = -1
    tsched: int = -1


def pack(entries: list[Entry]) -> bytearray:
    """Pack timeline entries."""
    out = bytearray()
    for entry in entries:
        out += _ENTRY.pack(*entry)
    return out


def pack_one(buf: bytearray, ts: int, seq: int, code: int, br: int) -> None:
    """Append one entry to packed entries."""
    buf += _ENTRY.pack(ts, seq, code, br)


def unpack(buf: bytearray) -> list[Entry]:
    """The entries of a packed buffer."""
    return list(_ENTRY.iter_unpack(buf))


def bitrate_bps(event: Event) -> int:
    """The event's ``fluxdata.bitrate_kbps`` in bit/s, or -1."""
    fx = event.fluxdata
    if fx is None or fx.bitrate_kbps is None:
        return -1
    return int(fx.bitrate_kbps * 1000 + 0.5)


def compact(event: Event) -> tuple[int, tl.Extra]:
    """Timeline code and extra of an event; warnings are ``OTHER``."""
    code = CODES.get(type(event), tl.OTHER)
    if code == tl.FATAL_ERROR:
        err = event.error
        if err is None or err.severity != "fatal":
            return tl.OTHER, None
        return code, (err.code, err.message, err.business)
    if code == tl.VIEW_END and isinstance(event, ViewEndEvent):
        return code, event.reason
    return code, None


def intern(value: str | None) -> str | None:
    """One shared copy of a repeated dimension value (the table is reset when it grows big)."""
    if value is None:
        return None
    if len(_INTERNED) > 200_000:
        _INTERNED.clear()
    return _INTERNED.setdefault(value, value)


def fill_dims(v: View, e: Event, custom_keys: tuple[str, ...]) -> None:
    """Fill the view's still unknown dimensions from ``e`` (never overwrites a value)."""
    d = v.dims
    m = v.missing
    if m & _CONTENT and e.content is not None:
        c = e.content
        d[0] = d[0] if d[0] is not None else intern(c.id)
        d[1] = d[1] if d[1] is not None else c.stream_type
        m = _settle(m, _CONTENT, d, 0, 2)
    if m & _PLAYER and e.player is not None:
        p = e.player
        d[2] = d[2] if d[2] is not None else intern(p.name)
        d[3] = d[3] if d[3] is not None else intern(p.version)
        m = _settle(m, _PLAYER, d, 2, 4)
    if m & _DEVICE and e.device is not None:
        dv = e.device
        d[4] = d[4] if d[4] is not None else dv.type
        d[5] = d[5] if d[5] is not None else intern(dv.os)
        d[6] = d[6] if d[6] is not None else intern(dv.browser)
        m = _settle(m, _DEVICE, d, 4, 7)
    if m & (_GEO | _NETWORK | _PROPERTY | _VIEWER | _CUSTOM):
        m = _fill_rest(v, e, custom_keys, m)
    v.missing = m


def _fill_rest(v: View, e: Event, custom_keys: tuple[str, ...], m: int) -> int:
    d = v.dims
    if m & _GEO and e.geo is not None:
        d[7] = d[7] if d[7] is not None else e.geo.country
        d[8] = d[8] if d[8] is not None else intern(e.geo.region)
        m = _settle(m, _GEO, d, 7, 9)
    if m & _NETWORK and e.network is not None:
        n = e.network
        d[9] = d[9] if d[9] is not None else n.asn
        d[10] = d[10] if d[10] is not None else intern(n.isp)
        d[11] = d[11] if d[11] is not None else intern(n.cdn)
        m = _settle(m, _NETWORK, d, 9, 12)
    if m & _PROPERTY and e.property is not None:
        d[12] = intern(e.property)
        m &= ~_PROPERTY
    if m & _VIEWER and e.viewer_id is not None:
        v.viewer_id = e.viewer_id
        m &= ~_VIEWER
    if m & _CUSTOM:
        if not custom_keys:
            return m & ~_CUSTOM
        if e.custom is not None:
            for i, key in enumerate(custom_keys, len(DIMENSIONS)):
                if d[i] is None:
                    value = e.custom.get(key)
                    d[i] = intern(value) if isinstance(value, str) else value
            m = _settle(m, _CUSTOM, d, len(DIMENSIONS), len(d))
    return m


def _settle(m: int, bit: int, d: list[DimValue | None], lo: int, hi: int) -> int:
    for i in range(lo, hi):
        if d[i] is None:
            return m
    return m & ~bit


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
