"""The sessionizer: each view's events, in order, through the state machine of docs/metrics.md.

Events of a view wait in a small per-view buffer until the watermark passed them by
``reorder_ms``; then they are sorted by (``event_ts``, ``seq``) and folded (see
``playpipe.streams.timeline`` and ``transitions``). Their activity goes to a
:class:`~timeline.Sink` (the window store) and the view's record is built when the view ends.

One shortcut keeps the common case cheap: a heartbeat-like event (no state effect, bitrate
unchanged, no unknown dimension) that arrives in order, with nothing buffered before it and
within ``concurrency_timeout_ms`` of the previous one, is applied at once. Processing it
later could only count it and move the view's last-event time, so the results are the same.

Rules the state table leaves to the implementation:

* Duplicates are recognised by ``seq``, which the dictionary makes unique and increasing per
  view: an event whose seq was already seen in its view is dropped (when the first copy is
  still buffered, the ``event_id`` is compared too). No event id is kept in memory.
* An event that lands before events already processed (more than ``reorder_ms`` late), or
  inside time already attributed to windows, *re-derives* the view: the view keeps its timeline
  events (not plain heartbeats) since a checkpoint, withdraws what they contributed to windows,
  inserts the late event and folds again (``playpipe.streams.corrections``). Windows are
  corrected within their late grace. A view keeps at most 32 timeline events beyond
  ``late_grace_ms``; older ones are folded into the checkpoint, and an event older than the
  checkpoint only counts (``late_count``).
* While a view is silent its current state keeps counting in windows up to
  ``concurrency_timeout_ms`` after its last event; if it then times out, that time is withdrawn:
  a timed-out view ends at its last event, in its record and in windows alike.
* A view that ended stays ended: an event of its ``view_id`` is counted late (and dropped) if
  its event time is before the view's end + ``view_timeout_ms`` + ``late_grace_ms``, and each
  such event extends that limit to its own time + ``late_grace_ms``; a later event starts a
  new view with that id. The decision depends on event times, not on arrival order, so a
  view is never emitted twice because its events arrived late (docs/metrics.md).
"""

from __future__ import annotations

from operator import attrgetter
from typing import Final

from playpipe.streams import timeline as tl
from playpipe.streams.aggsettings import AggregationSettings
from playpipe.streams.corrections import DIM_LOOKUPS, Corrector, keep_extra, set_view_start
from playpipe.streams.dims import fill_dims, would_fill
from playpipe.streams.records import ViewRecord
from playpipe.streams.schedule import Buckets
from playpipe.streams.slim import AnyEvent
from playpipe.streams.transitions import apply
from playpipe.streams.viewstate import (
    CODES,
    NARROW,
    View,
    bitrate_bps,
    build_record,
    compact,
    is_twin,
    mark_seen,
    pack_one,
    retained_count,
)

__all__ = ["Sessionizer"]

DUE_TICK: Final = 100
TIMEOUT_TICK: Final = 1000
RETAIN: Final = 32
"""Timeline entries a view keeps beyond ``late_grace_ms`` before folding older ones."""
_ORDER = attrgetter("event_ts", "seq")


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
        self._fixer = Corrector(sink, n_sizes, self._custom, self._ct)
        self.views: dict[str, View] = {}
        self.closed: dict[str, int] = {}
        """Recently ended view ids → event time from which an event of theirs starts a new
        view (earlier ones are late); in the order they were last touched."""
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

    def add(self, e: AnyEvent) -> None:
        """Buffer one event of any view; duplicates are dropped here."""
        ts = e.event_ts
        if ts is None:
            ts = e.event_ts = e.client_ts
        vid = e.view_id
        v = self.views.get(vid)
        if v is None:
            until = self.closed.get(vid)
            if until is not None:
                if ts < until:  # an ended view's event: late, and the id stays ended longer
                    self.late += 1
                    del self.closed[vid]
                    self.closed[vid] = max(until, ts + self._late_grace)
                    return
                del self.closed[vid]  # silent for late_grace after its end: a new view
            v = self._open(vid, ts)
        off = e.seq - v.seq_floor
        if off == 0 and not v.seq_bits:  # the next seq, in order: the common case
            v.seq_floor += 1
        elif off < 0 or (v.seq_bits >> off) & 1:
            if not is_twin(v, e):
                v.dups += 1
                self.duplicates += 1
                return
        else:
            mark_seen(v, off)
        if ts < self.late_before:
            self.late += 1
        if ts < v.first_ts:
            v.first_ts = ts
            if v.vs_ts < 0:
                v.origin = ts
        pending = v.pending
        fx = e.fluxdata
        if (
            pending is None
            and type(e) not in CODES
            and ts >= v.cursor_ts
            and 0 <= ts - v.last_ts <= self._ct
            and v.last_ts >= 0
            and (fx is None or fx.bitrate_kbps is None or v.fold.bitrate == bitrate_bps(e))
            and (not v.missing or v.events > DIM_LOOKUPS or not would_fill(v, e, self._custom))
        ):
            # A heartbeat-like event in order, nothing buffered before it, no silence to fill:
            # processing it later would only count it and move last_ts. Do it now.
            v.events += 1
            if ts > v.last_ts:
                v.last_ts = ts
            self.changed.add(vid)
            return
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
        v = View(
            vid, ts, [None] * self._n_dims, self._fixer.new_fold(), origin=ts, entry_size=NARROW
        )
        self.views[vid] = v
        self._arm_timeout(v, ts + self._timeout)
        return v

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
        self.changed.add(v.view_id)
        if len(pending) == 1:
            v.pending = None
            v.due = -1
            self._process(v, pending)
            return
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
        if batch:
            self._process(v, batch)

    def _process(self, v: View, batch: list[AnyEvent]) -> None:
        gap = self._gap(v, batch)
        if gap < len(batch):
            # The view fell silent for view_timeout before batch[gap]: it timed out there,
            # however far this advance jumped (event time decides, not the ticks).
            if gap:
                self._process(v, batch[:gap])
            if v.view_id in self.views:
                self._time_out(v)
            self._late_after_end(v.view_id, batch[gap:])
            return
        first = batch[0]
        ts0: int = first.event_ts  # type: ignore[assignment]
        f = v.fold
        if ts0 < f.attributed_to or (ts0, first.seq) < (v.cursor_ts, v.cursor_seq):
            self.corrections += 1
            self.late += self._fixer.late_batch(v, batch, self.swept_to)
        else:
            self._process_in_order(v, f, batch)
        if v.fold.closed:
            self._close(v)
        elif retained_count(v) > RETAIN:
            self._fixer.checkpoint(v, self.frontier - self._late_grace)

    def _process_in_order(self, v: View, f: tl.Fold, batch: list[AnyEvent]) -> None:
        sink = self._sink
        for e in batch:
            if f.closed:  # after view_end: like events of an ended view, late
                self.late += 1
                continue
            ts: int = e.event_ts  # type: ignore[assignment]
            seq = e.seq
            v.events += 1
            v.cursor_ts = ts
            v.cursor_seq = seq
            if ts > v.last_ts:
                v.last_ts = ts
            if v.missing and v.events <= DIM_LOOKUPS:
                fill_dims(v, e, self._custom)
            code = CODES.get(type(e), tl.OTHER)
            br = bitrate_bps(e) if e.fluxdata is not None else -1
            extra: tl.Extra = None
            if code >= tl.RETAINED:
                if code == tl.VIEW_START:
                    set_view_start(v, ts)
                if br < 0 or br == f.bitrate:
                    continue
                code = tl.BITRATE
            elif code == tl.FATAL_ERROR or code == tl.VIEW_END:
                code, extra = compact(e)
                if code == tl.OTHER:
                    if br < 0 or br == f.bitrate:
                        continue
                    code = tl.BITRATE
            pack_one(v, ts, seq, code, br)
            if extra is not None:
                keep_extra(v, ts, seq, extra)
            apply(v, f, code, ts, br, extra, sink, 1)

    # -- silence, timeouts, ends ---------------------------------------------------------

    def sweep(self, target: int) -> None:
        """Extend every silent view's current state up to ``target`` (capped by the
        concurrency timeout after its last event) so that windows ending there can close.

        Views of one window key extending the same state over the same interval at the same
        bitrate reach the windows together: each view only updates its own sums and markers.
        """
        if target <= self.swept_to:
            return
        self.swept_to = target
        sink, ct, changed = self._sink, self._ct, self.changed
        groups: dict[tuple[tl.Key, int, int, int, int], list[tl.Fold]] = {}
        for vid, v in self.views.items():
            f = v.fold
            s = f.state
            if s == tl.IDLE or s == tl.ENDED:
                continue
            end = v.last_ts + ct
            if end > target:
                end = target
            a = f.attributed_to
            if end <= a:
                continue
            f.attributed_to = end
            tl.account(f, s, end - a)
            key = v.wkey if v.wkey is not None else sink.key_of(v)
            group = (key, s, a, end, f.bitrate if s == tl.PLAYING else -1)
            folds = groups.get(group)
            if folds is None:
                groups[group] = [f]
            else:
                folds.append(f)
            changed.add(vid)
        for (key, s, a, end, bitrate), folds in groups.items():
            sink.interval_many(key, folds, s, a, end, bitrate)

    def _gap(self, v: View, batch: list[AnyEvent]) -> int:
        """Index of the first event that comes view_timeout after every earlier one."""
        prev = max(v.last_ts, v.first_ts)
        timeout = self._timeout
        for i, e in enumerate(batch):
            ts: int = e.event_ts  # type: ignore[assignment]
            if ts > prev + timeout:
                return i
            if ts > prev:
                prev = ts
        return len(batch)

    def _check_timeout(self, v: View, frontier: int) -> None:
        expiry = max(v.last_ts, v.first_ts) + self._timeout
        if expiry > frontier:
            self._arm_timeout(v, expiry)
            return
        self._time_out(v)

    def _time_out(self, v: View) -> None:
        """End ``v`` at its last event (reason ``timeout``)."""
        f = v.fold
        if f.state != tl.IDLE and f.state != tl.ENDED:
            if f.attributed_to > v.last_ts:
                self._fixer.rederive(v, [], v.last_ts)
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
        del self.views[v.view_id]
        v.sched = v.tsched = -1
        self.closed[v.view_id] = record.end_ms + self._timeout + self._late_grace
        if v.pending:
            self._late_after_end(v.view_id, v.pending)
        self.changed.discard(v.view_id)
        self.ended.append(v.view_id)
        self._records.append(record)

    def _late_after_end(self, vid: str, events: list[AnyEvent]) -> None:
        """Count events of ended view ``vid`` late; each keeps the id ended a while longer."""
        until = self.closed[vid]
        for e in events:
            until = max(until, e.event_ts + self._late_grace)  # type: ignore[operator]
        self.closed[vid] = until
        self.late += len(events)

    def _forget(self, frontier: int) -> None:
        """Forget ended views late_grace after their ``until``: an event of theirs arriving
        later than that is beyond the lateness the aggregator corrects."""
        closed, grace = self.closed, self._late_grace
        while closed:
            vid, until = next(iter(closed.items()))
            if until + grace > frontier:
                break
            del closed[vid]

    # -- state ---------------------------------------------------------------------------

    def adopt(self, v: View) -> None:
        """Take a view restored from a snapshot: schedule its buffered events and timeout."""
        v.sched = v.tsched = -1
        self.views[v.view_id] = v
        if v.pending:
            self._schedule(v, v.due)
        self._arm_timeout(v, max(v.last_ts, v.first_ts) + self._timeout)
