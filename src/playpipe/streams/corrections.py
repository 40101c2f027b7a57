"""Late events: insert them into a view's timeline and re-derive the view exactly.

A view keeps the timeline entries it folded since a checkpoint (``View.retained``, packed).
Re-deriving folds those entries again from the checkpoint with ``sign=-1``, which withdraws
exactly what they contributed to windows, then folds the corrected entries with ``sign=+1``.
The window store drops both halves for windows that are already final, so a correction only
changes windows still within their late grace.
"""

from __future__ import annotations

import copy

from playpipe.streams import timeline as tl
from playpipe.streams.dims import fill_dims
from playpipe.streams.slim import AnyEvent
from playpipe.streams.transitions import apply
from playpipe.streams.viewstate import Entry, View, bitrate_bps, compact, pack, unpack

__all__ = ["DIM_LOOKUPS", "Corrector", "keep_extra", "set_view_start"]

DIM_LOOKUPS = 64
"""Dimensions still unknown after a view's first 64 events stay unknown (saves the lookups)."""


def set_view_start(v: View, ts: int) -> None:
    """Note a ``view_start`` at ``ts``: the earliest one is where an implicit intent starts."""
    if v.vs_ts < 0 or ts < v.vs_ts:
        v.vs_ts = v.origin = ts


def keep_extra(v: View, ts: int, seq: int, extra: tl.Extra) -> None:
    """Keep what a retained entry cannot pack: a fatal error's details, a view_end reason."""
    if v.extras is None:
        v.extras = []
    v.extras.append((ts, seq, extra))


class Corrector:
    """Re-derives views of one sessionizer."""

    def __init__(self, sink: tl.Sink, n_sizes: int, custom: tuple[str, ...], ct: int) -> None:
        self._sink = sink
        self._pres0 = (-1,) * (2 * n_sizes)
        self._custom = custom
        self._ct = ct

    def new_fold(self) -> tl.Fold:
        """The fold of a view that has seen nothing yet."""
        return tl.Fold(pres=list(self._pres0))

    def late_batch(self, v: View, batch: list[AnyEvent], swept_to: int) -> int:
        """Insert events that precede processed ones, then re-derive the view.

        Returns how many events were older than the view's checkpoint (only counted).
        """
        adds: list[Entry] = []
        too_old = 0
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
                set_view_start(v, ts)
            if (ts, e.seq) <= (v.cp_ts, v.cp_seq):
                v.late += 1
                too_old += 1
                continue
            br = bitrate_bps(e)
            if code >= tl.RETAINED:
                if br < 0:
                    continue
                code = tl.BITRATE
            adds.append((ts, e.seq, code, br))
            if extra is not None:
                keep_extra(v, ts, e.seq, extra)
        self.rederive(v, adds, min(swept_to, v.last_ts + self._ct))
        return too_old

    def rederive(self, v: View, adds: list[Entry], extend_to: int) -> None:
        """Withdraw the view's contributions since its checkpoint and fold again with
        ``adds`` inserted; a still open view then extends its state to ``extend_to``."""
        sink = self._sink
        entries = unpack(v)
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
        pack(v, entries)
        if not f.closed and f.state != tl.IDLE and f.state != tl.ENDED:
            tl.flush(v, f, extend_to, sink, 1)

    def checkpoint(self, v: View, horizon: int) -> None:
        """Fold timeline entries older than ``horizon`` into the checkpoint."""
        entries = unpack(v)
        cut = next((i for i, e in enumerate(entries) if e[0] >= horizon), len(entries))
        if cut == 0:
            return
        cp = self._base(v)
        self._run(v, cp, entries[:cut], 0)
        v.cp = cp
        v.cp_ts, v.cp_seq = entries[cut - 1][0], entries[cut - 1][1]
        pack(v, entries[cut:])
        if v.extras:
            key = (v.cp_ts, v.cp_seq)
            v.extras = [x for x in v.extras if (x[0], x[1]) > key] or None

    def _base(self, v: View) -> tl.Fold:
        if v.cp is None:
            return self.new_fold()
        fold = copy.copy(v.cp)
        fold.pres = list(fold.pres)
        return fold

    def _run(self, v: View, f: tl.Fold, entries: list[Entry], sign: int) -> None:
        extras = {(ts, seq): x for ts, seq, x in v.extras} if v.extras else {}
        sink = self._sink
        for ts, seq, code, br in entries:
            if f.closed:
                break
            apply(v, f, code, ts, br, extras.get((ts, seq)), sink, sign)
