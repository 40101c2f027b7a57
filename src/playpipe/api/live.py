"""``/v1/live``: new and corrected windows pushed to browsers as server-sent events.

The ingest thread publishes what each write changed; every connected stream has a bounded
queue on the event loop. A stream that falls more than ``QUEUE_SIZE`` items behind gets one
``lagged`` event (refetch what you show) instead of an unbounded backlog.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from playpipe.api.auth import Access
from playpipe.api.records import ViewIn, WindowIn, dimension_map, text
from playpipe.api.store import WriteResult

__all__ = ["Broadcaster", "Subscriber", "format_event", "matches", "view_summary"]

QUEUE_SIZE = 1000
Item = tuple[str, dict[str, Any]]


def format_event(event: str, data: Any, event_id: str | None = None) -> bytes:
    """One server-sent event: ``event:``, optional ``id:``, one ``data:`` line of JSON."""
    head = f"event: {event}\n" + (f"id: {event_id}\n" if event_id else "")
    return head.encode() + b"data: " + msgspec.json.encode(data) + b"\n\n"


def view_summary(view: ViewIn) -> dict[str, Any]:
    """What a ``view`` event carries: enough to list the view, not the whole record."""
    return {
        "view_id": view.view_id,
        "end_ms": view.end_ms,
        "outcome": view.outcome,
        "startup_time_ms": view.startup_time_ms,
        "experience_score": view.experience_score,
        "error_code": view.fatal_error.code if view.fatal_error else None,
        "dimensions": dimension_map(view),
    }


def matches(dims: Mapping[str, Any], filters: Mapping[str, Sequence[str]], access: Access) -> bool:
    """Whether an item with these dimensions passes the stream's filters and the token."""
    if access.properties is not None and text(dims.get("property")) not in access.properties:
        return False
    return all(text(dims.get(name)) in values for name, values in filters.items())


@dataclass(eq=False)
class Subscriber:
    """One open ``/v1/live`` stream."""

    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Item | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_SIZE)
    )
    lagged: bool = False

    def offer(self, items: list[Item | None]) -> None:
        """Called on the event loop: enqueue, or remember that the stream fell behind."""
        for item in items:
            try:
                self.queue.put_nowait(item)
            except asyncio.QueueFull:
                self.lagged = True
                if item is None:  # closing must get through: make room for it
                    self.queue.get_nowait()
                    self.queue.put_nowait(None)


class Broadcaster:
    """Fans the store's changes out to every open stream (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[Subscriber] = set()
        self.closed = False

    def subscribe(self) -> Subscriber:
        """A new stream on the running event loop."""
        sub = Subscriber(asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    @property
    def count(self) -> int:
        """Open streams."""
        with self._lock:
            return len(self._subscribers)

    def _send(self, items: list[Item | None]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for sub in subscribers:
            try:
                sub.loop.call_soon_threadsafe(sub.offer, items)
            except RuntimeError:  # its loop is closed: the server is going away
                self.unsubscribe(sub)

    def publish(self, result: WriteResult) -> None:
        """Send what one store write changed (called from the ingest thread)."""
        items: list[Item | None] = [
            ("window", msgspec.to_builtins(w)) for w in _ordered(result.windows)
        ]
        items += [("view", view_summary(v)) for v in result.views]
        if items:
            self._send(items)

    def close(self) -> None:
        """End every stream (server shutdown)."""
        self.closed = True
        self._send([None])


def _ordered(windows: list[WindowIn]) -> list[WindowIn]:
    return sorted(windows, key=lambda w: (w.window_start_ms, w.window))
