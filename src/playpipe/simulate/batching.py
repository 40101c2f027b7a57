"""How a viewer's events leave the device: batches, delays, losses and duplicates.

Like the web SDK, a viewer buffers events and flushes ``flush_interval_ms`` after the first
buffered one, as soon as ``max_batch_events`` are buffered, or at once for the last event
of a view (``view_end``, or the last beacon of a page that dies). Events of one instant are
never split across batches. Each batch then waits a network delay before its request; a
share of batches is held back for seconds (so they arrive after later ones), a share is
lost (never sent), a share is sent twice. Decisions come from a dedicated random stream,
so changing the loss or duplicate shares never changes the events themselves.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from playpipe.dictionary import Event
from playpipe.simulate.options import SimOptions

__all__ = ["MAX_NETWORK_DELAY_MS", "ScheduledBatch", "batch_viewer", "tail_ms"]

MAX_NETWORK_DELAY_MS = 2_000
"""Ordinary network delays are capped here; held-back batches use ``late_delay_ms``."""


@dataclass(slots=True)
class ScheduledBatch:
    """One request a viewer's device makes: its events and when it leaves."""

    send_ms: int
    """Simulated time the request is sent (true clock)."""
    flush_ms: int
    """Simulated time the SDK flushed its buffer; every event in the batch is at or before."""
    batch_id: str
    viewer_id: str
    user_agent: str
    skew_ms: int
    """The viewer's clock error: ``sent_at`` is stamped on the same skewed clock."""
    events: list[Event]
    lost: bool = False
    """Never sent: the pipeline never sees these events."""
    duplicate: bool = False
    """The second copy of a batch that is sent twice."""


def tail_ms(options: SimOptions) -> int:
    """Longest gap between a flush and the last request it causes."""
    return options.late_delay_ms[1] + options.duplicate_delay_ms[1] + MAX_NETWORK_DELAY_MS


def _delay(rng: random.Random, options: SimOptions) -> int:
    if rng.random() < options.late_share:
        low, high = options.late_delay_ms
        return rng.randint(low, high)
    # A floor of a fifth of the median plus an exponential tail: median ≈ the setting.
    median = options.network_delay_median_ms
    delay = 0.2 * median + rng.expovariate(1.0 / (0.8 * median / 0.693))
    return min(MAX_NETWORK_DELAY_MS, max(1, int(delay)))


def _flush_points(
    items: list[tuple[int, Event, bool]], options: SimOptions
) -> list[tuple[int, int]]:
    """``(end index exclusive, flush time)`` of each batch, following the SDK's rules."""
    points: list[tuple[int, int]] = []
    timer: int | None = None
    first = 0
    n = len(items)
    for i, (t, _, urgent) in enumerate(items):
        if timer is not None and t > timer:
            points.append((i, timer))
            first, timer = i, None
        if timer is None:
            timer = t + options.flush_interval_ms
        same_instant_follows = i + 1 < n and items[i + 1][0] == t
        if (urgent or i + 1 - first >= options.max_batch_events) and not same_instant_follows:
            points.append((i + 1, t))
            first, timer = i + 1, None
    if first < n:
        points.append((n, timer if timer is not None else items[-1][0]))
    return points


def batch_viewer(
    rng: random.Random,
    items: list[tuple[int, Event, bool]],
    *,
    viewer_id: str,
    user_agent: str,
    skew_ms: int,
    batch_prefix: str,
    options: SimOptions,
    lost_share: float,
    duplicate_share: float,
) -> list[ScheduledBatch]:
    """Cut one viewer's events (``(true time, event, last of its view)``, in order) into
    batches, with send times, losses and duplicates drawn from ``rng``."""
    batches: list[ScheduledBatch] = []
    start = 0
    for n, (end, flush) in enumerate(_flush_points(items, options)):
        events = [item[1] for item in items[start:end]]
        start = end
        send = flush + _delay(rng, options)
        batch = ScheduledBatch(
            send_ms=send,
            flush_ms=flush,
            batch_id=f"{batch_prefix}-{n}",
            viewer_id=viewer_id,
            user_agent=user_agent,
            skew_ms=skew_ms,
            events=events,
            lost=rng.random() < lost_share,
        )
        batches.append(batch)
        if not batch.lost and rng.random() < duplicate_share:
            low, high = options.duplicate_delay_ms
            again = ScheduledBatch(
                send_ms=send + rng.randint(low, high),
                flush_ms=flush,
                batch_id=batch.batch_id,
                viewer_id=viewer_id,
                user_agent=user_agent,
                skew_ms=skew_ms,
                events=events,
                duplicate=True,
            )
            batches.append(again)
    return batches
