"""Pure generation: viewers, their views and their batches in send order, plus the truth.

``viewers`` is the number of viewer *slots*: each slot holds one viewer at a time; when a
viewer leaves, a new one arrives after a short gap, until the end of the run. So about
``viewers`` people watch at once and the run ends by itself. Each slot draws from its own
random streams (seeded by ``seed`` and the slot number), so a seed reproduces every event
exactly, whatever the order batches are consumed in.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from playpipe.dictionary import Event
from playpipe.simulate.aggregates import WindowAccumulator, WindowTruth
from playpipe.simulate.batching import ScheduledBatch, batch_viewer, tail_ms
from playpipe.simulate.files import TruthFiles, write_truth
from playpipe.simulate.options import DEFAULT_START_MS, DegradeSpec, SimOptions
from playpipe.simulate.player import PlayedView, play_view
from playpipe.simulate.population import GRID_MS, Quality, draw_view, draw_viewer, grid
from playpipe.simulate.timeline import BatchFlags, Timeline
from playpipe.simulate.truth import ViewTruth, view_truth

__all__ = ["Generation", "GenerationStats", "generate"]


def _arrival_order(flags: BatchFlags, sends: list[int]) -> None:
    """Count the view's delivered batches (``sends`` in flush order) that left after a batch
    with later events, and those that left after the batch with its last event."""
    later = math.inf
    for send in reversed(sends):
        if send > later:
            flags.batches_reordered += 1
        later = min(later, send)
    if sends:
        flags.batches_after_end = sum(1 for send in sends[:-1] if send > sends[-1])


def _send_order(batch: ScheduledBatch) -> int:
    return batch.send_ms


@dataclass(slots=True)
class GenerationStats:
    """Counts of what was generated (lost batches included)."""

    viewers: int = 0
    views: int = 0
    events: int = 0
    batches: int = 0
    lost_batches: int = 0
    lost_events: int = 0
    duplicate_batches: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Slot:
    index: int
    rng: random.Random
    net: random.Random
    viewers: int = 0


class Generation:
    """One simulated run without HTTP: iterate it for the batches, then read the truth.

    Iterating yields :class:`~playpipe.simulate.batching.ScheduledBatch` in ``send_ms``
    order, duplicates included and lost batches left out (unless ``include_lost``). The
    truth fills in as viewers are generated; it is complete once iteration is exhausted.
    """

    def __init__(
        self,
        viewers: int,
        duration_s: float,
        seed: int,
        *,
        start_ms: int = DEFAULT_START_MS,
        property_key: str = "demo",
        lost_batch_share: float = 0.0,
        duplicate_share: float = 0.02,
        degrade: DegradeSpec | None = None,
        options: SimOptions | None = None,
        include_lost: bool = False,
    ) -> None:
        if viewers < 1 or duration_s <= 0:
            raise ValueError("a simulation needs at least 1 viewer and a positive duration")
        for name, share in (
            ("lost_batch_share", lost_batch_share),
            ("duplicate_share", duplicate_share),
        ):
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {share}")
        self.options = options or SimOptions()
        self.viewer_slots = viewers
        self.seed = seed
        self.start_ms = start_ms - start_ms % GRID_MS
        self.horizon_ms = self.start_ms + grid(duration_s * 1000)
        self.property_key = property_key
        self.lost_share = lost_batch_share
        self.duplicate_share = duplicate_share
        self.degrade = degrade
        self.include_lost = include_lost
        self.stats = GenerationStats()
        self.timelines: list[Timeline] = []
        self.views: list[ViewTruth] = []
        self.done = False
        self._started = False

    @property
    def end_ms(self) -> int:
        """Latest possible send time of a batch (the horizon plus delays)."""
        return self.horizon_ms + tail_ms(self.options)

    # -- iteration --------------------------------------------------------------------------
    def __iter__(self) -> Iterator[ScheduledBatch]:
        if self._started:
            raise RuntimeError("a Generation can be iterated once; create a new one")
        self._started = True
        return self._batches()

    def _batches(self) -> Iterator[ScheduledBatch]:
        o = self.options
        slots: list[tuple[int, int]] = []
        state: list[_Slot] = []
        ramp = random.Random(f"playpipe-simulate:{self.seed}:ramp")
        ramp_ms = min(o.ramp_ms, (self.horizon_ms - self.start_ms) // 4)
        for i in range(self.viewer_slots):
            rng = random.Random(f"playpipe-simulate:{self.seed}:{i}")
            net = random.Random(f"playpipe-simulate:{self.seed}:{i}:net")
            state.append(_Slot(i, rng, net))
            arrival = self.start_ms + grid(ramp.uniform(0, ramp_ms), 0)
            heapq.heappush(slots, (arrival, i))
        # One heap entry per viewer with batches left: (next send time, tie, batches, index).
        pending: list[tuple[int, int, list[ScheduledBatch], int]] = []
        order = 0
        while slots or pending:
            while slots and (not pending or slots[0][0] <= pending[0][0]):
                arrival, i = heapq.heappop(slots)
                if arrival >= self.horizon_ms:
                    continue
                batches, departure = self._viewer(state[i], arrival)
                if not self.include_lost:
                    batches = [b for b in batches if not b.lost]
                if batches:
                    batches.sort(key=_send_order)
                    heapq.heappush(pending, (batches[0].send_ms, order, batches, 0))
                    order += 1
                gap = grid(state[i].rng.expovariate(1.0 / o.arrival_gap_mean_ms))
                heapq.heappush(slots, (departure + gap, i))
            if pending:
                _, tie, batches, index = pending[0]
                yield batches[index]
                index += 1
                if index < len(batches):
                    heapq.heapreplace(pending, (batches[index].send_ms, tie, batches, index))
                else:
                    heapq.heappop(pending)
        self.done = True

    def _viewer(self, slot: _Slot, arrival: int) -> tuple[list[ScheduledBatch], int]:
        """Generate one viewer's session; returns its batches and when it left."""
        o, rng = self.options, slot.rng
        viewer = draw_viewer(rng, o)
        views_wanted = 1
        while views_wanted < 6 and rng.random() < 1.0 - 1.0 / o.views_per_viewer_mean:
            views_wanted += 1
        played: list[PlayedView] = []
        t = arrival
        for k in range(views_wanted):
            if t >= self.horizon_ms:
                break
            setup = draw_view(rng, viewer, self.property_key)
            quality = Quality(viewer, setup.cdn, self.degrade, self.start_ms, o)
            view = play_view(
                rng,
                viewer,
                setup,
                o,
                quality,
                t,
                self.horizon_ms,
                first_in_session=k == 0,
                property_key=self.property_key,
            )
            played.append(view)
            t = view.times[-1]
            if view.ends_session:
                break
            t += grid(rng.uniform(*o.between_views_ms))
        times: list[int] = []
        events: list[Event] = []
        ends: set[int] = set()
        for view in played:
            times += view.times
            events += view.events
            ends.add(len(events) - 1)
        batches = batch_viewer(
            slot.net,
            times,
            events,
            ends,
            viewer_id=viewer.viewer_id,
            user_agent=viewer.user_agent,
            skew_ms=viewer.skew_ms,
            batch_prefix=f"{slot.index}.{slot.viewers}",
            options=o,
            lost_share=self.lost_share,
            duplicate_share=self.duplicate_share,
        )
        slot.viewers += 1
        self._record(played, batches)
        departure = played[-1].times[-1] if played else arrival
        return batches, departure

    def _record(self, played: list[PlayedView], batches: list[ScheduledBatch]) -> None:
        flags = {view.timeline.view_id: view.timeline.flags for view in played}
        sends: dict[str, list[int]] = {view_id: [] for view_id in flags}
        stats = self.stats
        for batch in batches:
            first = batch.events[0].view_id
            if batch.events[-1].view_id == first:
                per_view = [(first, len(batch.events))]
            else:
                counts: dict[str, int] = {}
                for e in batch.events:
                    counts[e.view_id] = counts.get(e.view_id, 0) + 1
                per_view = list(counts.items())
            for view_id, count in per_view:
                f = flags[view_id]
                if batch.duplicate:
                    f.batches_duplicated += 1
                    continue
                f.batches += 1
                if batch.lost:
                    f.batches_lost += 1
                    f.events_lost += count
                else:
                    sends[view_id].append(batch.send_ms)
            if batch.duplicate:
                stats.duplicate_batches += 1
            else:
                stats.batches += 1
                if batch.lost:
                    stats.lost_batches += 1
                    stats.lost_events += len(batch.events)
        stats.viewers += 1
        for view_id, times in sends.items():
            _arrival_order(flags[view_id], times)
        for view in played:
            truth = view_truth(view.timeline)
            self.timelines.append(view.timeline)
            self.views.append(truth)
            stats.views += 1
            stats.events += len(view.events)
            stats.outcomes[truth.outcome] = stats.outcomes.get(truth.outcome, 0) + 1

    # -- truth ------------------------------------------------------------------------------
    def windows(self) -> list[WindowTruth]:
        """The true window aggregates of every view generated so far."""
        acc = WindowAccumulator(self.options.windows_ms, self.options.dimension_sets)
        acc.add_all(zip(self.timelines, self.views, strict=True))
        return acc.records()

    def write_truth(self, path: Path) -> TruthFiles:
        """Write the view truth to ``path``, the window truth to ``<path>.windows.jsonl`` and
        the timelines to ``<path>.timelines.jsonl``."""
        return write_truth(path, self.views, self.windows(), self.timelines)


def generate(
    viewers: int,
    duration_s: float,
    seed: int,
    *,
    start_ms: int = DEFAULT_START_MS,
    property_key: str = "demo",
    lost_batch_share: float = 0.0,
    duplicate_share: float = 0.02,
    degrade: DegradeSpec | None = None,
    options: SimOptions | None = None,
    include_lost: bool = False,
) -> Generation:
    """Simulate ``viewers`` concurrent viewer slots for ``duration_s`` of simulated time.

    No HTTP and no wall clock: the result depends only on the arguments. Iterate the
    returned :class:`Generation` for the batches in send order (``batch.send_ms``,
    ``batch.events``), then read ``.views`` / ``.windows()`` or ``.write_truth(path)``.
    """
    return Generation(
        viewers,
        duration_s,
        seed,
        start_ms=start_ms,
        property_key=property_key,
        lost_batch_share=lost_batch_share,
        duplicate_share=duplicate_share,
        degrade=degrade,
        options=options,
        include_lost=include_lost,
    )
