"""The aggregation façade: events in, view records and window results out, state in bytes.

The aggregator process drives one :class:`Aggregation` per set of partitions it owns::

    agg = Aggregation(AggregationSettings())
    for event in decoded_batch:
        agg.add(event)
    out = agg.advance(watermark_ms=highest_event_ts_seen)
    produce(out.views, out.windows)
    changed, ended = agg.take_dirty()
    changelog.put({vid: agg.snapshot_view(vid) for vid in changed}, tombstones=ended)
    changelog.put_global(agg.snapshot_windows())
    commit_offsets()

After a crash, :meth:`restore` every view and :meth:`restore_windows` the global state from
the changelog, then consume from the committed offsets: the same events and watermarks give
the same output. Nothing reads a clock; all times are event times in ms.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from playpipe.streams.aggsettings import AggregationSettings
from playpipe.streams.dims import intern
from playpipe.streams.records import DimValue, Emitted, WindowResult
from playpipe.streams.rollup import Acc
from playpipe.streams.sessionizer import Sessionizer
from playpipe.streams.slim import AnyEvent
from playpipe.streams.viewstate import View
from playpipe.streams.windows import Window, WindowStore

__all__ = ["Aggregation"]


class _WindowState(msgspec.Struct, array_like=True):
    size_index: int
    start: int
    accs: list[tuple[list[DimValue | None], Acc]]
    closed: bool
    changed: list[list[DimValue | None]]
    emitted: list[WindowResult]


class _GlobalState(msgspec.Struct, array_like=True):
    watermark: int
    frontier: int
    swept_to: int
    late_before: int
    final_before: list[int]
    closed_views: list[tuple[str, int]]
    dirty: list[tuple[int, int]]
    windows: list[_WindowState]
    counters: tuple[int, int, int, int]
    counted: tuple[int, int, int, int]
    published: list[tuple[int, int, int]] = msgspec.field(default_factory=list)
    owed: list[tuple[int, int]] = msgspec.field(default_factory=list)


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_GlobalState)
_view_decoder = msgspec.msgpack.Decoder(tuple[View, bytes])


class Aggregation:
    """Sessionization and windowed QoE of a stream of dictionary events (pure, no I/O)."""

    def __init__(self, settings: AggregationSettings | None = None) -> None:
        self.settings = settings if settings is not None else AggregationSettings()
        self._windows = WindowStore(self.settings)
        self._sessions = Sessionizer(self.settings, self._windows, len(self._windows.sizes))
        self._watermark = -(2**62)
        self._counted = (0, 0, 0, 0)

    @property
    def open_views(self) -> int:
        """Views that started and have not ended yet."""
        return len(self._sessions.views)

    @property
    def window_store(self) -> WindowStore:
        """The window store (read it, e.g. to publish per-partition accumulators)."""
        return self._windows

    @property
    def watermark_ms(self) -> int:
        """The highest watermark passed to :meth:`advance` (restored with the windows)."""
        return self._watermark

    def add(self, event: AnyEvent) -> None:
        """Take one event (any view, any order); it is processed by a later :meth:`advance`.

        An event without ``event_ts`` gets its ``client_ts`` as event time.
        """
        self._sessions.add(event)

    def add_many(self, events: Iterable[AnyEvent]) -> None:
        """:meth:`add` each event."""
        add = self._sessions.add
        for event in events:
            add(event)

    def advance(self, watermark_ms: int) -> Emitted:
        """Move event time to ``watermark_ms`` (the highest ``event_ts`` seen; never goes back).

        Processes the events at least ``reorder_ms`` older, ends views (``view_end`` or
        ``view_timeout_ms`` of silence), closes windows ``grace_ms`` after their end and
        re-emits corrected ones.
        """
        settings = self.settings
        self._watermark = wm = max(self._watermark, watermark_ms)
        sessions, windows = self._sessions, self._windows
        records = sessions.advance(wm - settings.reorder_ms)
        sessions.sweep(windows.closable(wm))
        results = windows.close(wm)
        sessions.late_before = max(windows.final_before)
        records.sort(key=lambda r: (r.end_ms, r.view_id))
        counters = (sessions.duplicates, sessions.late, sessions.corrections, windows.dropped)
        dup, late, corrections, dropped = (
            a - b for a, b in zip(counters, self._counted, strict=True)
        )
        self._counted = counters
        return Emitted(
            views=records,
            windows=results,
            late_events=late,
            ignored_events=sum(r.ignored_count for r in records),
            duplicates=dup,
            late_window_updates=dropped,
            corrections=corrections,
        )

    def take_dirty(self) -> tuple[list[str], list[str]]:
        """View ids changed since the last call (snapshot them) and ended (delete them)."""
        sessions = self._sessions
        changed, ended = sorted(sessions.changed), sessions.ended
        sessions.changed = set()
        sessions.ended = []
        return changed, ended

    def snapshot_view(self, view_id: str) -> bytes:
        """The state of open view ``view_id`` as msgpack bytes (``KeyError`` if not open).

        ``seq_bits`` can outgrow msgpack's 64-bit integers (up to 1024 bits), so it travels
        as bytes after the struct.
        """
        view = self._sessions.views[view_id]
        bits = view.seq_bits
        if not bits:  # the common case (seqs in order): no copy of the view
            return _encoder.encode((view, b""))
        raw = bits.to_bytes((bits.bit_length() + 7) // 8, "little")
        return _encoder.encode((msgspec.structs.replace(view, seq_bits=0), raw))

    def restore(self, view_id: str, data: bytes) -> None:
        """Put back a view saved by :meth:`snapshot_view`."""
        view, raw = _view_decoder.decode(data)
        view.seq_bits = int.from_bytes(raw, "little")
        if view.view_id != view_id:
            raise ValueError(f"snapshot is of view {view.view_id!r}, not {view_id!r}")
        view.dims = [intern(x) if isinstance(x, str) else x for x in view.dims]
        if view.wkey is not None:
            view.wkey = self._windows.intern_key(view.wkey)
        self._sessions.adopt(view)

    def snapshot_windows(self) -> bytes:
        """Everything but the views: open windows, watermark, recently ended view ids."""
        s, w = self._sessions, self._windows
        state = _GlobalState(
            watermark=self._watermark,
            frontier=s.frontier,
            swept_to=s.swept_to,
            late_before=s.late_before,
            final_before=list(w.final_before),
            closed_views=list(s.closed.items()),
            dirty=sorted(w.dirty),
            windows=[
                _WindowState(
                    si,
                    ws,
                    [(list(k), a) for k, a in win.accs.items()],
                    win.closed,
                    [list(k) for k in win.changed],
                    list(win.emitted.values()),
                )
                for si, wins in enumerate(w.windows)
                for ws, win in wins.items()
            ],
            counters=(s.duplicates, s.late, s.corrections, w.dropped),
            counted=self._counted,
            published=[(si, ws, rev) for (si, ws), rev in sorted(w.published.items())],
            owed=sorted(w.owed),
        )
        return _encoder.encode(state)

    def restore_windows(self, data: bytes) -> None:
        """Put back what :meth:`snapshot_windows` saved (views are restored one by one)."""
        state = _decoder.decode(data)
        s, w = self._sessions, self._windows
        self._watermark = state.watermark
        s.frontier, s.swept_to, s.late_before = state.frontier, state.swept_to, state.late_before
        s.closed = dict(state.closed_views)
        w.final_before = list(state.final_before)
        w.dirty = {(si, ws) for si, ws in state.dirty}
        w.windows = [{} for _ in w.sizes]
        w.forget_last()
        sets = {names: di for di, names in enumerate(w.sets)}
        for ws_state in state.windows:
            win = Window(closed=ws_state.closed)
            win.accs = {w.intern_key(tuple(k)): a for k, a in ws_state.accs}
            win.changed = {w.intern_key(tuple(k)) for k in ws_state.changed}
            for r in ws_state.emitted:
                win.emitted[(sets[tuple(r.dimensions)], tuple(r.dimensions.values()))] = r
            w.windows[ws_state.size_index][ws_state.start] = win
        s.duplicates, s.late, s.corrections, w.dropped = state.counters
        self._counted = state.counted
        w.published = {(si, ws): rev for si, ws, rev in state.published}
        w.owed = {(si, ws) for si, ws in state.owed}

    def owe(self, published: dict[tuple[str, int], int]) -> None:
        """Windows an earlier run published after the restored checkpoint, with their
        highest revisions: see ``WindowStore.owe``."""
        self._windows.owe(published)
