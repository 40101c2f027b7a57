"""Partial windows: what one input partition knows of a window, mergeable across partitions.

A view lives on one partition of ``events``, so each aggregator partition sees a disjoint
set of views. Its window accumulators (``rollup.Acc`` per fine dimension key) add up across
partitions exactly — percentiles included, since they carry the startup times. Each
partition publishes the accumulators of every window it closes or corrects as a
:class:`Partial` keyed by window; the merger (``playpipe.streams.merger``) adds them up and
computes the window metrics of every dimension set.

``revision`` of a partial grows with each change of that window on that partition and is a
pure function of the partition's state, so it survives restarts; the merged revision is the
sum over partitions and only grows.
"""

from __future__ import annotations

import msgspec

from playpipe.streams.aggregation import Aggregation
from playpipe.streams.records import DimValue, Emitted
from playpipe.streams.rollup import Acc

FineKey = list[DimValue | None]


class Partial(msgspec.Struct, array_like=True):
    """One window's accumulators from one source partition."""

    window: str
    size_ms: int
    start_ms: int
    source: int
    revision: int
    fine_names: list[str]
    accs: list[tuple[FineKey, Acc]]

    def key(self) -> bytes:
        return f"{self.window}|{self.start_ms}".encode()


encoder = msgspec.msgpack.Encoder()
decoder = msgspec.msgpack.Decoder(Partial)


def partials_of(agg: Aggregation, emitted: Emitted, source: int) -> list[Partial]:
    """The partials of every window that ``emitted`` closed or corrected.

    Read from the windows that advance released, not from the open ones: when the watermark
    jumps (a backlog after a restart, a long silence), one advance can correct a window and
    make it final, which removes it from the store; its correction must still go out.
    """
    store = agg._windows  # the package's own window store
    touched = sorted({(r.window, r.window_start_ms) for r in emitted.windows})
    out = []
    for name, start in touched:
        si = store.names.index(name)
        window = store.released.get((si, start))
        if window is None:
            window = store.windows[si].get(start)
        if window is None:
            continue
        revision = sum(r.revision + 1 for r in window.emitted.values())
        accs = [(list(key), acc) for key, acc in window.accs.items()]
        out.append(
            Partial(name, store.sizes[si], start, source, revision, list(store.fine_names), accs)
        )
    return out
