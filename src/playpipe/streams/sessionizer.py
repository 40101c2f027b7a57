"""The sessionizer: each view's events, in order, through the state machine of docs/metrics.md.

Events of a view wait in a small per-view buffer until the watermark passed them by
``reorder_ms``; then they are sorted by (``event_ts``, ``seq``) and folded (see
``playpipe.streams.timeline``). Their activity goes to a :class:`~timeline.Sink` (the window
store) and the view's record is built when the view ends.

Rules the state table leaves to the implementation:

* Duplicates are recognised by ``seq``, which the dictionary makes unique and increasing per
  view: an event whose seq was already seen in its view is dropped (when the first copy is
  still buffered, the ``event_id`` is compared too). No event id is kept in memory.
* An event that lands before events already processed (more than ``reorder_ms`` late), or
  inside time already attributed to windows, *re-derives* the view: the view keeps its timeline
  events (not plain heartbeats) since a checkpoint, withdraws what they contributed to windows,
  inserts the late event and folds again. Windows are corrected within their late grace.
  A view keeps at most 32 timeline events beyond ``late_grace_ms``; older ones are folded into
  the checkpoint, and an event older than the checkpoint only counts (``late_count``).
* While a view is silent its current state keeps counting in windows up to
  ``concurrency_timeout_ms`` after its last event; if it then times out, that time is withdrawn:
  a timed-out view ends at its last event, in its record and in windows alike.
* Events of a view that already ended are counted late (for ``late_grace_ms`` after it ended;
  afterwards the same ``view_id`` would start a new view).
"""

from __future__ import annotations

import copy
from operator import attrgetter
from typing import Final

import msgspec

from playpipe.dictionary import Event
from playpipe.streams import timeline as tl
from playpipe.streams.aggsettings import AggregationSettings
from playpipe.streams.records import ViewRecord
from playpipe.streams.schedule import Buckets
from playpipe.streams.viewstate import (
    CODES,
    Entry,
    View,
    bitrate_bps,
    build_record,
    compact,
    fill_dims,
    intern,
    pack,
    pack_one,
    unpack,
)

__all__ = ["Sessionizer"]

DUE_TICK: Final = 100
TIMEOUT_TICK: Final = 1000
RETAIN_BYTES: Final = 32 * 25
DIM_LOOKUPS: Final = 64
"""Dimensions still unknown after a view's first 64 events stay unknown (saves the lookups)."""
_ORDER = attrgetter("event_ts", "seq")
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(View)


class Sessionizer:
    """All open views of a partition (or several); event time only, no clock."""

    def __init__(self, settings: AggregationSettings, sink: tl.Sink, n_sizes: int) -> None:
        self._sink = sink
        self._reorder = settings.reorder_ms
        self._timeout = settings.view_timeout_ms
        self._ct = settings.concurrency_timeout_ms
        self._late_grace = settings.late_grace_ms
        self._custom = tuple(settings.custom_dimensions)
        self._n_dims = len(settings.all_dimensions)
        self._pres0 = (-1,) * (2 * n_sizes)
        self.views: dict[str, View] = {}
        self.closed: dict[str, int] = {}
        """Recently ended view ids → frontier after which they are forgotten."""
        self._due: Buckets[View] = Buckets(DUE_TICK)
        self._wheel: Buckets[View] = Buckets(TIMEOUT_TICK)
        self.frontier = -(2**62)
        self.swept_to = -(2**62)
        self.late_before = -(2**62)
        """Events older than this fall only in final windows (counted late)."""
        self.duplicates = 0
        self.late = 0
        self.corrections = 0
        self.changed: set[str] = set()
        self.ended: list[str] = []
        self._records: list[ViewRecord] = []

    # -- arrival -------------------------------------------------------------------------

    def add(self, e: Event) -> None:
        """Buffer one event of any view; duplicates are dropped here."""
        ts = e.event_ts
        if ts is None:
            ts = e.event_ts = e.client_ts
        vid = e.view_id
        v = self.views.get(vid)
        if v is None:
            if vid in self.closed:
                self.late += 1
                return
            v = self._open(vid, ts)
        off = e.seq - v.seq_floor
        if off == 0 and not v.seq_bits:  # the next seq, in order: the common case
            v.seq_floor += 1
        elif off < 0 or (v.seq_bits >> off) & 1:
            if not self._twin(v, e):
                v.dups += 1
                self.duplicates += 1
                return
        else:
            self._mark(v, off)
        if ts < self.late_before:
            self.late += 1
        if ts < v.first_ts:
            v.first_ts = ts
            if v.vs_ts < 0:
                v.origin = ts
        pending = v.pending
        if pending is None:  # due once the frontier (watermark - reorder) reaches ts
            v.pending = [e]
            v.due = ts
            key = ts // DUE_TICK
            if key != v.sched:
                v.sched = key
                self._due.push(key, v)
        else:
            pending.append(e)
            if ts < v.due:
                self._schedule(v, ts)
        self.changed.add(vid)

    def _open(self, vid: str, ts: int) -> View:
        v = View(vid, ts, [None] * self._n_dims, tl.Fold(pres=list(self._pres0)), origin=ts)
        self.views[vid] = v
        self._arm_timeout(v, ts + self._timeout)
        return v

    @staticmethod
    def _mark(v: View, off: int) -> None:
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

    @staticmethod
    def _twin(v: View, e: Event) -> bool:
        """Whether ``e`` reuses a buffered event's seq with another event id (not a copy)."""
        others = [p for p in v.pending or () if p.seq == e.seq]
        return bool(others) and all(p.event_id != e.event_id for p in others)

    def _schedule(self, v: View, due: int) -> None:
        v.due = due
        key = due // DUE_TICK
        if key != v.sched:
            v.sched = key
            self._due.push(key, v)

    def _arm_timeout(self, v: View, expiry: int) -> None:
        v.tsched = expiry // TIMEOUT_TICK
        self._wheel.push(v.tsched, v)

    # -- watermark -----------------------------------------------------------------------

    def advance(self, frontier: int) -> list[ViewRecord]:
        """Process every buffered event at or before ``frontier``; close ended/idle views."""
        if frontier > self.frontier:
            self.frontier = frontier
        frontier = self.frontier
        for key, views in self._due.pop_until(frontier):
            for v in views:
                if v.sched == key:
                    v.sched = -1
                    if v.due <= frontier:
                        self._process_due(v, frontier)
                    else:
                        self._schedule(v, v.due)
        for key, views in self._wheel.pop_until(frontier):
            for v in views:
                if v.tsched == key and v.view_id in self.views:
                    self._check_timeout(v, frontier)
        self._forget(frontier)
        records, self._records = self._records, []
        return records

    def _process_due(self, v: View, frontier: int) -> None:
        pending = v.pending
        assert pending is not None
        if len(pending) > 1:
            pending.sort(key=_ORDER)
        if pending[-1].event_ts <= frontier:  # type: ignore[operator]
            batch = pending
            v.pending = None
            v.due = -1
        else:
            cut = next(i for i, p in enumerate(pending) if p.event_ts > frontier)  # type: ignore[operator]
            batch = pending[:cut]
            v.pending = pending[cut:]
            self._schedule(v, v.pending[0].event_ts)  # type: ignore[arg-type]
        self.changed.add(v.view_id)
        if batch:
            self._process(v, batch)

    def _process(self, v: View, batch: list[Event]) -> None:
        first = batch[0]
        ts0: int = first.event_ts  # type: ignore[assignment]
        f = v.fold
        if ts0 < f.attributed_to or (ts0, first.seq) < (v.cursor_ts, v.cursor_seq):
            self._process_late(v, batch)
        else:
            self._process_in_order(v, f, batch)
        if v.fold.closed:
            self._close(v)
        elif len(v.retained) > RETAIN_BYTES:
            self._checkpoint(v)

    def _process_in_order(self, v: View, f: tl.Fold, batch: list[Event]) -> None:
        sink = self._sink
        for e in batch:
            if f.closed:  # after view_end: like events of an ended view, late
                self.late += 1
                continue
            ts: int = e.event_ts  # type: ignore[assignment]
            seq = e.seq
            v.events += 1
            v.last_ts = v.cursor_ts = ts
            v.cursor_seq = seq
            if v.missing and v.events <= DIM_LOOKUPS:
                fill_dims(v, e, self._custom)
            code = CODES.get(type(e), tl.OTHER)
            br = bitrate_bps(e) if e.fluxdata is not None else -1
            extra: tl.Extra = None
            if code >= tl.RETAINED:
                if code == tl.VIEW_START:
                    self._set_view_start(v, ts)
                if br < 0 or br == f.bitrate:
                    continue
                code = tl.BITRATE
            elif code == tl.FATAL_ERROR or code == tl.VIEW_END:
                code, extra = compact(e)
                if code == tl.OTHER:
                    if br < 0 or br == f.bitrate:
                        continue
                    code = tl.BITRATE
            pack_one(v.retained, ts, seq, code, br)
            if extra is not None:
                self._keep_extra(v, ts, seq, extra)
            tl.apply(v, f, code, ts, br, extra, sink, 1)

    @staticmethod
    def _set_view_start(v: View, ts: int) -> None:
        if v.vs_ts < 0 or ts < v.vs_ts:
            v.vs_ts = v.origin = ts

    @staticmethod
    def _keep_extra(v: View, ts: int, seq: int, extra: tl.Extra) -> None:
        if v.extras is None:
            v.extras = []
        v.extras.append((ts, seq, extra))

    def _process_late(self, v: View, batch: list[Event]) -> None:
        """Insert events that precede processed ones, then re-derive the view."""
        self.corrections += 1
        adds: list[Entry] = []
        for e in batch:
            ts: int = e.event_ts  # type: ignore[assignment]
            v.events += 1
            v.last_ts = max(v.last_ts, ts)
            if (ts, e.seq) > (v.cursor_ts, v.cursor_seq):
                v.cursor_ts, v.cursor_seq = ts, e.seq
            if v.missing and v.events <= DIM_LOOKUPS:
                fill_dims(v, e, self._custom)
            code, extra = compact(e)
            if code == tl.VIEW_START:
                self._set_view_start(v, ts)
            if (ts, e.seq) <= (v.cp_ts, v.cp_seq):
                v.late += 1
                self.late += 1
                continue
            br = bitrate_bps(e)
            if code >= tl.RETAINED:
                if br < 0:
                    continue
                code = tl.BITRATE
            adds.append((ts, e.seq, code, br))
            if extra is not None:
                self._keep_extra(v, ts, e.seq, extra)
        self._rederive(v, adds, None)

    def _rederive(self, v: View, adds: list[Entry], end_at: int | None) -> None:
        """Withdraw the view's contributions since its checkpoint and fold again."""
        sink = self._sink
        entries = unpack(v.retained)
        old = v.fold
        scratch = self._base(v)
        # Withdraw with the inputs the old fold used: an implicit intent started at its origin.
        origin = v.origin
        if old.attempted:
            v.origin = old.intent_ts
        self._run(v, scratch, entries, -1)
        tl.flush(v, scratch, old.attributed_to, sink, -1)
        v.origin = origin
        if adds:
            entries = sorted(set(entries).union(adds))
        f = self._base(v)
        self._run(v, f, entries, 1)
        v.fold = f
        v.retained = pack(entries)
        if not f.closed and f.state != tl.IDLE and f.state != tl.ENDED:
            target = end_at if end_at is not None else min(self.swept_to, v.last_ts + self._ct)
            tl.flush(v, f, target, sink, 1)

    def _base(self, v: View) -> tl.Fold:
        if v.cp is None:
            return tl.Fold(pres=list(self._pres0))
        fold = copy.copy(v.cp)
        fold.pres = list(fold.pres)
        return fold

    def _run(self, v: View, f: tl.Fold, entries: list[Entry], sign: int) -> None:
        extras = {(ts, seq): x for ts, seq, x in v.extras} if v.extras else {}
        sink = self._sink
        for ts, seq, code, br in entries:
            if f.closed:
                break
            tl.apply(v, f, code, ts, br, extras.get((ts, seq)), sink, sign)

    def _checkpoint(self, v: View) -> None:
        """Fold timeline entries older than the late grace into the checkpoint."""
        entries = unpack(v.retained)
        horizon = self.frontier - self._late_grace
        cut = next((i for i, e in enumerate(entries) if e[0] >= horizon), len(entries))
        if cut == 0:
            return
        cp = self._base(v)
        self._run(v, cp, entries[:cut], 0)
        v.cp = cp
        v.cp_ts, v.cp_seq = entries[cut - 1][0], entries[cut - 1][1]
        v.retained = pack(entries[cut:])
        if v.extras:
            key = (v.cp_ts, v.cp_seq)
            v.extras = [x for x in v.extras if (x[0], x[1]) > key] or None

    # -- silence, timeouts, ends ---------------------------------------------------------

    def sweep(self, target: int) -> None:
        """Extend every silent view's current state up to ``target`` (capped by the
        concurrency timeout after its last event) so that windows ending there can close."""
        if target <= self.swept_to:
            return
        self.swept_to = target
        sink, ct = self._sink, self._ct
        for vid, v in self.views.items():
            f = v.fold
            if f.state == tl.IDLE or f.state == tl.ENDED:
                continue
            end = min(target, v.last_ts + ct)
            if end > f.attributed_to:
                tl.flush(v, f, end, sink, 1)
                self.changed.add(vid)

    def _check_timeout(self, v: View, frontier: int) -> None:
        expiry = max(v.last_ts, v.first_ts) + self._timeout
        if expiry > frontier:
            self._arm_timeout(v, expiry)
            return
        f = v.fold
        if f.state != tl.IDLE and f.state != tl.ENDED:
            if f.attributed_to > v.last_ts:
                self._rederive(v, [], v.last_ts)
            else:
                tl.flush(v, f, v.last_ts, self._sink, 1)
        self._close(v)

    def _close(self, v: View) -> None:
        record = build_record(v, self._custom)
        f = v.fold
        if record.outcome == "exit_before_start":
            self._sink.fact(v, f, tl.EXIT_BEFORE_START, record.end_ms, 0, 1)
        if record.experience_score is not None:
            score = round(record.experience_score * 1_000_000)
            self._sink.fact(v, f, tl.VIEW_SCORE, record.end_ms, score, 1)
        if v.pending:
            self.late += len(v.pending)
        del self.views[v.view_id]
        v.sched = v.tsched = -1
        self.closed[v.view_id] = self.frontier + self._late_grace
        self.changed.discard(v.view_id)
        self.ended.append(v.view_id)
        self._records.append(record)

    def _forget(self, frontier: int) -> None:
        closed = self.closed
        while closed:
            vid, until = next(iter(closed.items()))
            if until > frontier:
                break
            del closed[vid]

    # -- state ---------------------------------------------------------------------------

    def snapshot(self, view_id: str) -> bytes:
        """The open view ``view_id`` as msgpack bytes (``KeyError`` if it is not open)."""
        return _encoder.encode(self.views[view_id])

    def restore(self, view_id: str, data: bytes) -> None:
        """Put back a view saved by :meth:`snapshot`."""
        v = _decoder.decode(data)
        if v.view_id != view_id:
            raise ValueError(f"snapshot is of view {v.view_id!r}, not {view_id!r}")
        v.dims = [intern(x) if isinstance(x, str) else x for x in v.dims]
        if v.wkey is not None:
            v.wkey = tuple(intern(x) if isinstance(x, str) else x for x in v.wkey)
        v.sched = v.tsched = -1
        self.views[view_id] = v
        if v.pending:
            self._schedule(v, v.due)
        self._arm_timeout(v, max(v.last_ts, v.first_ts) + self._timeout)
