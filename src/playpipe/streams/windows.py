"""Tumbling windows: accumulate view activity by window and dimension key, emit on the watermark.

Activity arrives per view through the :class:`~playpipe.streams.timeline.Sink` interface. It
is accumulated once per window size under the view's *fine key* (its values of every
dimension used by any dimension set); at emission the fine keys are rolled up into each
configured dimension set. Every view has exactly one fine key, so distinct-view counts
(``concurrent_viewers``, ``starts_active``) add up exactly across keys; within a window a view
is counted once thanks to per-view markers kept in its fold (``Fold.pres``).

A window of size S starting at W is emitted (revision 0) once the watermark reaches
``W + S + grace``; activity that changes it afterwards re-emits the changed keys with the next
revision, until the watermark reaches ``W + S + grace + late_grace``, when it is dropped.
Activity for a dropped window is counted in ``dropped`` and lost to windows.
"""

from __future__ import annotations

from typing import Final

import msgspec

from playpipe.streams import timeline as tl
from playpipe.streams.aggsettings import AggregationSettings
from playpipe.streams.records import DimValue, WindowResult
from playpipe.streams.rollup import Acc, compute

__all__ = ["WindowStore"]

Key = tuple[DimValue | None, ...]
_IS_ACTIVE: Final = tuple(s in (tl.STARTUP, tl.PLAYING, tl.REBUFFERING) for s in range(8))


class Window(msgspec.Struct, array_like=True):
    """One window of one size: accumulators by fine key and what was emitted."""

    accs: dict[Key, Acc] = msgspec.field(default_factory=dict)
    closed: bool = False
    changed: set[Key] = msgspec.field(default_factory=set)
    emitted: dict[tuple[int, Key], WindowResult] = msgspec.field(default_factory=dict)


class WindowStore:
    """Windows of every configured size; implements the timeline ``Sink``."""

    def __init__(self, settings: AggregationSettings) -> None:
        self.names = list(settings.windows)
        self.sizes = settings.window_sizes_ms
        self.grace = settings.grace_ms
        self.late_grace = settings.late_grace_ms
        all_dims = settings.all_dimensions
        used = {name for names in settings.dimension_sets for name in names}
        self.fine_names = tuple(n for n in all_dims if n in used)
        self._fine_idx = tuple(all_dims.index(n) for n in self.fine_names)
        self.sets = [tuple(names) for names in settings.dimension_sets]
        self._proj = [tuple(self.fine_names.index(n) for n in names) for names in self.sets]
        self._proj_cache: list[dict[Key, Key]] = [{} for _ in self.sets]
        self._keys: dict[Key, Key] = {}
        self.windows: list[dict[int, Window]] = [{} for _ in self.sizes]
        self.final_before = [-(2**62)] * len(self.sizes)
        self.dirty: set[tuple[int, int]] = set()
        self.dropped = 0
        self._last_ws = [-(2**62)] * len(self.sizes)
        """Per size, the last window used and its start: most activity hits the same one."""
        self._last = [Window() for _ in self.sizes]
        self.released: dict[tuple[int, int], Window] = {}
        """The windows the last :meth:`close` emitted, by (size index, start): also those it
        then made final and removed, whose last correction still has to be published."""
        self.published: dict[tuple[int, int], int] = {}
        """The revision of the last partial published per (size index, start), until final
        (``playpipe.streams.partials``)."""
        self.owed: set[tuple[int, int]] = set()
        """Windows an earlier run of this partition published after the checkpoint this
        state was restored from: published again once closable, even unchanged or empty."""
        self.republish: dict[tuple[int, int], Window] = {}
        """The owed windows the last :meth:`close` settled (an empty one if absent)."""

    # -- sink ----------------------------------------------------------------------------

    def interval(
        self, view: tl.ViewLike, fold: tl.Fold, state: int, start: int, end: int, sign: int
    ) -> None:
        """Add ``sign`` * the time ``[start, end)`` in ``state`` to every window it overlaps."""
        key = view.wkey
        if key is None:
            key = self._key(view)
        active = _IS_ACTIVE[state]
        started = fold.started
        pres = fold.pres
        i = 0
        for size in self.sizes:
            ws = start - start % size
            while ws < end:
                acc = self._acc(i >> 1, ws, key) if sign else None
                if active and pres[i] < ws:
                    pres[i] = ws
                    if acc is not None:
                        acc.concurrent += sign
                if started and pres[i + 1] < ws:
                    pres[i + 1] = ws
                    if acc is not None:
                        acc.starts_active += sign
                we = ws + size
                if acc is not None:
                    d = ((end if end < we else we) - (start if start > ws else ws)) * sign
                    if state == tl.PLAYING:
                        acc.playing_ms += d
                        if fold.bitrate >= 0:
                            acc.br_ms += d
                            acc.br_sum += fold.bitrate * d
                    else:
                        self._add_time(acc, state, d)
                ws = we
            i += 2

    def interval_many(
        self, key: Key, folds: list[tl.Fold], state: int, start: int, end: int, bitrate: int
    ) -> None:
        """Like :meth:`interval` (sign +1) for views of one key sharing state, times, bitrate."""
        active = _IS_ACTIVE[state]
        n = len(folds)
        i = 0
        for size in self.sizes:
            ws = start - start % size
            while ws < end:
                conc = started = 0
                for fold in folds:
                    pres = fold.pres
                    if active and pres[i] < ws:
                        pres[i] = ws
                        conc += 1
                    if fold.started and pres[i + 1] < ws:
                        pres[i + 1] = ws
                        started += 1
                we = ws + size
                acc = self._acc(i >> 1, ws, key)
                if acc is not None:
                    acc.concurrent += conc
                    acc.starts_active += started
                    d = ((end if end < we else we) - (start if start > ws else ws)) * n
                    if state == tl.PLAYING:
                        acc.playing_ms += d
                        if bitrate >= 0:
                            acc.br_ms += d
                            acc.br_sum += bitrate * d
                    else:
                        self._add_time(acc, state, d)
                ws = we
            i += 2

    @staticmethod
    def _add_time(acc: Acc, state: int, d: int) -> None:
        if state == tl.REBUFFERING:
            acc.rebuffering_ms += d
        elif state == tl.STARTUP:
            acc.startup_ms += d
        elif state == tl.SEEKING:
            acc.seeking_ms += d

    def fact(
        self, view: tl.ViewLike, fold: tl.Fold, kind: int, ts: int, value: int, sign: int
    ) -> None:
        """Count ``sign`` * a fact at ``ts`` in the window of each size that contains it."""
        key = view.wkey if view.wkey is not None else self._key(view)
        for si, size in enumerate(self.sizes):
            ws = ts - ts % size
            acc = self._acc(si, ws, key) if sign else None
            if kind == tl.PLAYBACK_FAILURE and fold.pres[2 * si + 1] < ws:
                fold.pres[2 * si + 1] = ws
                if acc is not None:
                    acc.starts_active += sign
            if acc is not None:
                acc.count(kind, value, sign)

    def _acc(self, si: int, ws: int, key: Key) -> Acc | None:
        """The accumulator of a window and key; ``None`` (counted) if the window is final."""
        if ws == self._last_ws[si]:
            w = self._last[si]
        elif ws < self.final_before[si]:
            self.dropped += 1
            return None
        else:
            found = self.windows[si].get(ws)
            if found is None:
                found = self.windows[si][ws] = Window()
            w = self._last[si] = found
            self._last_ws[si] = ws
        acc = w.accs.get(key)
        if acc is None:
            acc = w.accs[key] = Acc()
        if w.closed:
            w.changed.add(key)
            self.dirty.add((si, ws))
        return acc

    def key_of(self, view: tl.ViewLike) -> Key:
        """The view's fine key, fixed at its first use."""
        key = view.wkey
        return key if key is not None else self._key(view)

    def _key(self, view: tl.ViewLike) -> Key:
        dims = view.dims
        key = tuple(dims[i] for i in self._fine_idx)
        key = view.wkey = self._keys.setdefault(key, key)
        return key

    def forget_last(self) -> None:
        """Drop the cached last windows (they may be removed or replaced)."""
        self._last_ws = [-(2**62)] * len(self.sizes)

    def intern_key(self, key: Key) -> Key:
        """The shared copy of a fine key (after a restore)."""
        return self._keys.setdefault(key, key)

    # -- emission ------------------------------------------------------------------------

    def closable(self, watermark: int) -> int:
        """The latest window end that may close at ``watermark`` (any size)."""
        h = watermark - self.grace
        return max(h - h % size for size in self.sizes)

    def close(self, watermark: int) -> list[WindowResult]:
        """Results of windows closing at ``watermark`` and of corrected closed windows."""
        out: list[tuple[tuple[int, int, int, str], WindowResult]] = []
        released: dict[tuple[int, int], Window] = {}
        for si, size in enumerate(self.sizes):
            for ws, w in self.windows[si].items():
                if not w.closed and ws + size + self.grace <= watermark:
                    w.closed = True
                    out += self._emit(si, ws, w, None)
                    released[(si, ws)] = w
        for si, ws in self.dirty:
            fixed = self.windows[si].get(ws)
            if fixed is not None and fixed.closed and fixed.changed:
                out += self._emit(si, ws, fixed, fixed.changed)
                fixed.changed = set()
                released[(si, ws)] = fixed
        self.released = released
        self.dirty.clear()
        self.republish = {}
        if self.owed:
            self._settle_owed(watermark)
        self._finalize(watermark)
        out.sort(key=lambda item: item[0])
        return [result for _, result in out]

    def owe(self, published: dict[tuple[str, int], int]) -> None:
        """Take the partials an earlier run published after this state was checkpointed:
        ``{(window name, start): highest revision}``.

        Replaying from the checkpoint need not change those windows again (its advances
        jump further), nor even create them (a view counted there after its last event may
        now time out first), so each is published once more when it can close, with a
        higher revision than the earlier run's, from this run's state (empty if absent).
        """
        for (name, start), revision in published.items():
            if name not in self.names:
                continue  # a window size no longer configured
            si = self.names.index(name)
            if start < self.final_before[si]:
                continue  # final here: nothing can have changed it after the checkpoint
            key = (si, start)
            self.published[key] = max(self.published.get(key, -1), revision)
            self.owed.add(key)

    def _settle_owed(self, watermark: int) -> None:
        for si, ws in sorted(self.owed):
            if ws + self.sizes[si] + self.grace > watermark:
                continue
            window = self.released.get((si, ws))
            if window is None:
                window = self.windows[si].get(ws)
            self.republish[(si, ws)] = window if window is not None else Window()
            self.owed.discard((si, ws))

    def next_revision(self, si: int, ws: int) -> int:
        """The revision of the next partial of a window: 1 for the first, then one more than
        the last (never 0, so each partial raises the merged sum)."""
        revision = self.published.get((si, ws), 0) + 1
        self.published[(si, ws)] = revision
        return revision

    def forget_final(self) -> None:
        """Drop the revisions of final windows (their last partial was published)."""
        final = self.final_before
        for key in [k for k in self.published if k[1] < final[k[0]]]:
            del self.published[key]

    def _finalize(self, watermark: int) -> None:
        self.forget_last()
        h = watermark - self.grace - self.late_grace
        for si, size in enumerate(self.sizes):
            self.final_before[si] = max(self.final_before[si], h - h % size)
            wins = self.windows[si]
            for ws in [ws for ws in wins if ws < self.final_before[si]]:
                del wins[ws]

    def _emit(
        self, si: int, ws: int, w: Window, keys: set[Key] | None
    ) -> list[tuple[tuple[int, int, int, str], WindowResult]]:
        out = []
        for di, names in enumerate(self.sets):
            affected = None if keys is None else {self._project(di, k) for k in keys}
            groups: dict[Key, list[Acc]] = {}
            for key, acc in w.accs.items():
                coarse = self._project(di, key)
                if affected is None or coarse in affected:
                    groups.setdefault(coarse, []).append(acc)
            for coarse, accs in groups.items():
                prev = w.emitted.get((di, coarse))
                result = compute(
                    self.names[si],
                    self.sizes[si],
                    ws,
                    dict(zip(names, coarse, strict=True)),
                    accs,
                    prev,
                )
                if result is not None:
                    w.emitted[(di, coarse)] = result
                    out.append(((si, ws, di, repr(coarse)), result))
        return out

    def _project(self, di: int, key: Key) -> Key:
        cache = self._proj_cache[di]
        coarse = cache.get(key)
        if coarse is None:
            coarse = cache[key] = tuple(key[i] for i in self._proj[di])
        return coarse
