"""Small helpers shared by the mappings of third-party beacon formats.

* :func:`event_id`: a deterministic id from the view and the source's own identity of an
  event, so a beacon delivered twice, or a raw record replayed, maps to the same ids and the
  standardizer (and the aggregator) drop the copy.
* :func:`seq_of`: ``seq`` from an ordering number of the source (a sequence number, or the
  client time in ms when the format has none) and the position of the event among those one
  source event maps to.
* :class:`ViewStates`: per-view state a mapping keeps across raw records (merged deltas,
  the first-frame flag, a unit guess…), bounded, least recently used first out.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Final, Generic, TypeVar

SEQ_STRIDE: Final = 4
"""One source event maps to at most this many dictionary events."""

T = TypeVar("T")


def event_id(source: str, view_id: str, *parts: object) -> str:
    """A 32-hex-digit id, the same for the same source event of the same view."""
    text = "\x1f".join((source, view_id, *(str(p) for p in parts)))
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=16).hexdigest()


def seq_of(order: int, position: int) -> int:
    """``seq`` of the ``position``-th event made from the source event numbered ``order``."""
    return max(0, order) * SEQ_STRIDE + position


class ViewStates(Generic[T]):
    """At most ``max_views`` states by view id; the least recently used goes first."""

    def __init__(self, factory: Callable[[], T], max_views: int = 50_000) -> None:
        self.factory = factory
        self.max_views = max_views
        self._states: OrderedDict[str, T] = OrderedDict()

    def get(self, view_id: str) -> T:
        """The view's state, made on first use."""
        state = self._states.get(view_id)
        if state is None:
            state = self._states[view_id] = self.factory()
            if len(self._states) > self.max_views:
                self._states.popitem(last=False)
        else:
            self._states.move_to_end(view_id)
        return state

    def drop(self, view_id: str) -> None:
        self._states.pop(view_id, None)

    def __contains__(self, view_id: object) -> bool:
        return view_id in self._states

    def __len__(self) -> int:
        return len(self._states)


SKEW_TOLERANCE_MS: Final = 1000
"""A send time this close to the receive time is transit, not a wrong client clock."""


def usable_sent_at(sent_at: int | None, received_at: int) -> int | None:
    """``sent_at`` when it shows a client clock error worth correcting, else ``None``.

    As the collector does for native batches: an error of at most a second is taken as
    transit time, and the client clock is trusted (capped at the receive time).
    """
    if sent_at is None or abs(received_at - sent_at) <= SKEW_TOLERANCE_MS:
        return None
    return sent_at
