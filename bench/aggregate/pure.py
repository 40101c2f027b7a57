"""Micro-benchmark of the pure aggregation path: Aggregation.add + advance, no Kafka, no JSON.

Feeds synthetic views (``--views`` concurrent, heartbeats every 10 s, some rebuffers, pauses,
seeks and rendition changes, every event carrying its context nodes like the web SDK sends
them) in batches of ``--batch`` events, calling ``advance`` after each batch with the highest
event time seen. Events are generated batch by batch outside the timed part. Prints events/s
in process CPU time (stable on a shared machine) and in wall time, a calibration figure (one
dict lookup in a loop) to compare machines, then the memory per open view measured with
tracemalloc in a second, smaller run. No assertions: figures only.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import random
import time
import tracemalloc
from collections.abc import Iterator
from typing import Literal, cast

from playpipe.dictionary import (
    EVENT_CLASSES,
    ContentNode,
    DeviceNode,
    Event,
    FluxdataNode,
    GeoNode,
    NetworkNode,
    PlayerNode,
)
from playpipe.streams.aggregation import Aggregation

CLASSES = {str(cls.__struct_config__.tag): cls for cls in EVENT_CLASSES}
LADDER = (800.0, 1600.0, 3000.0, 4500.0)
CDNS = ("akamai", "fastly", "cloudfront")
COUNTRIES = ("FR", "US", "DE", "BR", "IN", "JP")
DEVICES: tuple[Literal["desktop", "mobile", "tv", "tablet"], ...] = (
    "desktop",
    "mobile",
    "tv",
    "tablet",
)


class Viewer:
    """One synthetic view: a script of (offset, type) steps produced on demand."""

    def __init__(self, rng: random.Random, n: int, start: int) -> None:
        self.rng = rng
        self.view_id = f"view-{n:08d}"
        self.seq = 0
        self.t = start
        self.rung = rng.randrange(len(LADDER))
        self.left = rng.randint(12, 120)  # heartbeats until the end
        self.nodes = {
            "content": ContentNode(id=f"c{rng.randrange(500)}", stream_type="vod"),
            "player": PlayerNode(name="hls.js", version="1.5.13"),
            "device": DeviceNode(type=rng.choice(DEVICES), os="Linux", browser="Chrome"),
            "geo": GeoNode(country=rng.choice(COUNTRIES), region="IDF"),
            "network": NetworkNode(asn=3215, isp="Orange", cdn=rng.choice(CDNS)),
        }
        self.script = self._script()

    def _script(self) -> Iterator[tuple[int, str]]:
        rng = self.rng
        yield 0, "view_start"
        yield 300, "play_requested"
        yield rng.randint(300, 3000), "first_frame"
        while self.left > 0:
            self.left -= 1
            roll = rng.random()
            if roll < 0.03:
                yield rng.randint(1000, 9000), "rebuffer_start"
                yield rng.randint(200, 4000), "rebuffer_end"
            elif roll < 0.08:
                self.rung = max(0, min(len(LADDER) - 1, self.rung + rng.choice((-1, 1))))
                yield rng.randint(1000, 9000), "rendition_change"
            elif roll < 0.10:
                yield rng.randint(1000, 9000), "paused"
                yield rng.randint(1000, 8000), "playing"
            elif roll < 0.11:
                yield rng.randint(1000, 9000), "seek_start"
                yield rng.randint(100, 1500), "seek_end"
            yield 10_000, "heartbeat"
        yield rng.randint(1000, 9000), "ended"
        yield 50, "view_end"

    def next(self) -> tuple[int, Event] | None:
        """The next event and its time, or None when the view is over."""
        step = next(self.script, None)
        if step is None:
            return None
        delay, kind = step
        self.t += delay
        extra: dict[str, object] = {}
        if kind == "view_end":
            extra["reason"] = "ended"
        fluxdata = FluxdataNode(bitrate_kbps=LADDER[self.rung], playhead_ms=self.t % 600_000)
        event = CLASSES[kind](
            event_id=f"{self.view_id}-{self.seq}",
            seq=self.seq,
            client_ts=self.t,
            event_ts=self.t,
            view_id=self.view_id,
            fluxdata=fluxdata,
            **self.nodes,  # type: ignore[arg-type]
            **extra,  # type: ignore[arg-type]
        )
        self.seq += 1
        return self.t, cast(Event, event)


def events(views: int, seed: int, base_ms: int = 0, first_id: int = 0) -> Iterator[Event]:
    """An endless stream in event-time order, ``views`` of them concurrent.

    Views start within 10 s after ``base_ms``; view ids are numbered from ``first_id``.
    """
    rng = random.Random(seed)
    heap: list[tuple[int, int, Event, Viewer]] = []
    made = first_id
    for _ in range(views):
        v = Viewer(rng, made, base_ms + rng.randint(0, 10_000))
        step = v.next()
        assert step is not None
        heap.append((step[0], made, step[1], v))
        made += 1
    heapq.heapify(heap)
    while True:
        _, n, event, v = heap[0]
        step = v.next()
        if step is None:
            v = Viewer(rng, made, v.t + rng.randint(0, 2000))
            step = v.next()
            assert step is not None
            n = made
            made += 1
        heapq.heapreplace(heap, (step[0], n, step[1], v))
        yield event


def feed(
    agg: Aggregation, stream: Iterator[Event], total: int, batch: int
) -> tuple[float, float, int]:
    """Feed ``total`` events generated batch by batch; returns (cpu s, wall s, outputs)."""
    cpu, wall, outputs, done, wm = 0.0, 0.0, 0, 0, 0
    add = agg.add
    while done < total:
        chunk = [next(stream) for _ in range(min(batch, total - done))]
        began, began_cpu = time.perf_counter(), time.process_time()
        for event in chunk:
            add(event)
        wm = max(wm, chunk[-1].event_ts or 0)
        out = agg.advance(wm)
        cpu += time.process_time() - began_cpu
        wall += time.perf_counter() - began
        outputs += len(out.views) + len(out.windows)
        done += len(chunk)
    return cpu, wall, outputs


def calibration_ns() -> float:
    """Nanoseconds per iteration of a loop doing one dict lookup (machine speed)."""
    table = {i: i for i in range(1024)}
    began = time.process_time()
    for i in range(2_000_000):
        table.get(i & 1023)
    return (time.process_time() - began) / 2_000_000 * 1e9


def memory_per_view(views: int, total: int, batch: int, seed: int) -> tuple[int, int, int]:
    """Bytes held by the aggregation after ``total`` events: (all, view state, open views).

    The events are generated before tracing starts and dropped after use, so every traced
    byte still held belongs to the aggregation; "view state" is what the sessionizer modules
    allocated (the rest is windows, results kept for corrections, registries).
    """
    stream = events(views, seed)
    chunks = [[next(stream) for _ in range(batch)] for _ in range(total // batch)]
    gc.collect()
    tracemalloc.start()
    agg = Aggregation()
    wm = 0
    for chunk in chunks:
        for event in chunk:
            agg.add(event)
        wm = max(wm, chunk[-1].event_ts or 0)
        agg.advance(wm)
    del chunks
    gc.collect()
    stats = tracemalloc.take_snapshot().statistics("filename")
    tracemalloc.stop()
    held = sum(s.size for s in stats)
    view_state = sum(s.size for s in stats if s.traceback[0].filename.endswith(VIEW_MODULES))
    return held, view_state, agg.open_views


VIEW_MODULES = (
    "sessionizer.py",
    "viewstate.py",
    "timeline.py",
    "transitions.py",
    "dims.py",
    "corrections.py",
    "schedule.py",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--views", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    agg = Aggregation()
    cpu, wall, outputs = feed(agg, events(args.views, args.seed), args.events, args.batch)
    print(f"events           {args.events:>12,}")
    print(f"open views       {agg.open_views:>12,}")
    print(f"outputs          {outputs:>12,}  (view records + window results)")
    print(f"cpu in add+adv   {cpu:>12.2f} s   (wall {wall:.2f} s)")
    print(
        f"throughput       {args.events / cpu:>12,.0f} events/s cpu"
        f" ({args.events / wall:,.0f} wall)"
    )
    print(f"per event        {cpu / args.events * 1e6:>12.2f} us cpu")
    print(f"calibration      {calibration_ns():>12.0f} ns per dict lookup in a loop")
    held, view_state, open_views = memory_per_view(args.views, 100_000, args.batch, args.seed)
    print(f"memory           {held / open_views:>12,.0f} bytes per open view, all state")
    per_view = view_state / open_views
    print(f"  of which       {per_view:>12,.0f} bytes of view state ({open_views} open views)")


if __name__ == "__main__":
    main()
