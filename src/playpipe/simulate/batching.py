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


def _flush_points(times: list[int], ends: set[int], options: SimOptions) -> list[tuple[int, int]]:
    """``(end index exclusive, flush time)`` of each batch, following the SDK's rules."""
    points: list[tuple[int, int]] = []
    timer: int | None = None
    first = 0
    n = len(times)
    interval, most = options.flush_interval_ms, options.max_batch_events
    for i, t in enumerate(times):
        if timer is not None and t > timer:
            points.append((i, timer))
            first, timer = i, None
        if timer is None:
            timer = t + interval
        if (i in ends or i + 1 - first >= most) and not (i + 1 < n and times[i + 1] == t):
            points.append((i + 1, t))
            first, timer = i + 1, None
    if first < n:
        points.append((n, timer if timer is not None else times[-1]))
    return points


def batch_viewer(
    rng: random.Random,
    times: list[int],
    events: list[Event],
    ends: set[int],
    *,
    viewer_id: str,
    user_agent: str,
    skew_ms: int,
    batch_prefix: str,
    options: SimOptions,
    lost_share: float,
    duplicate_share: float,
) -> list[ScheduledBatch]:
    """Cut one viewer's events (in order, with their true ``times``; ``ends`` holds the
    index of the last event of each view) into batches, with send times, losses and
    duplicates drawn from ``rng``."""
    batches: list[ScheduledBatch] = []
    start = 0
    late_share, (late_low, late_high) = options.late_share, options.late_delay_ms
    median = options.network_delay_median_ms
    floor, tail_rate = 0.2 * median, 0.693 / (0.8 * median)
    for n, (end, flush) in enumerate(_flush_points(times, ends, options)):
        chunk = events[start:end]
        start = end
        # A floor of a fifth of the median plus an exponential tail (median = the setting);
        # a share of batches is held back for seconds.
        if rng.random() < late_share:
            delay = rng.randint(late_low, late_high)
        else:
            delay = min(MAX_NETWORK_DELAY_MS, max(1, int(floor + rng.expovariate(tail_rate))))
        send = flush + delay
        batch = ScheduledBatch(
            send, flush, f"{batch_prefix}-{n}", viewer_id, user_agent, skew_ms, chunk
        )
        batches.append(batch)
        if rng.random() < lost_share:
            batch.lost = True
        elif rng.random() < duplicate_share:
            low, high = options.duplicate_delay_ms
            again = ScheduledBatch(
                send + rng.randint(low, high),
                flush,
                batch.batch_id,
                viewer_id,
                user_agent,
                skew_ms,
                chunk,
                duplicate=True,
            )
            batches.append(again)
    return batches
