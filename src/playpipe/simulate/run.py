"""Run a simulation against a collector: pace the batches, send them, write the truth.

Simulated time runs ``time_scale`` times faster than real time. It is placed on the wall
clock so that no simulated instant is ever later than the real instant its batch is sent:
with ``X = time_scale`` and a run spanning ``S`` ms of simulated time (the duration plus the
longest network delay), simulated time starts ``S * (1 - 1/X)`` ms (plus a 250 ms margin)
before the real start and catches up with the wall clock at the end. At ``X = 1`` simulated
time is the wall clock less 250 ms. Since ``sent_at`` is the wall clock plus the viewer's
skew, the collector's correction gives every event its true time plus its batch's transit
(docs/simulator.md, "true time").
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from playpipe.simulate.batching import ScheduledBatch, tail_ms
from playpipe.simulate.files import TruthFiles
from playpipe.simulate.generate import Generation
from playpipe.simulate.options import DegradeSpec, SimOptions
from playpipe.simulate.population import GRID_MS, grid
from playpipe.simulate.sender import Sender

__all__ = ["Summary", "run_simulation", "run_simulation_async", "simulated_start_ms"]

SAFETY_MARGIN_MS = 250
"""Simulated time is kept this far behind the wall clock (clock reads are not atomic)."""


@dataclass(slots=True)
class Summary:
    """What a run did: generated, sent, retried, lost; the outcomes; where the truth is."""

    viewers: int
    views: int
    events: int
    """Events generated (each once; lost ones included)."""
    batches: int
    """Distinct batches generated (lost included, second copies excluded)."""
    lost_batches: int
    lost_events: int
    duplicate_batches: int
    requests: int
    retries: int
    batches_sent: int
    """Batches accepted by the collector, duplicate copies included."""
    events_sent: int
    failed_batches: int
    failed_events: int
    events_rejected: int
    outcomes: dict[str, int]
    start_ms: int
    end_ms: int
    elapsed_s: float
    truth: TruthFiles | None = None
    """The truth files written, if a truth path was given."""
    statuses: dict[str, int] = field(default_factory=dict)
    """Answers by HTTP status (or transport error name)."""
    generation: Generation | None = field(default=None, repr=False)
    """The generated run, with ``.timelines`` and ``.views`` in memory."""

    @property
    def complete(self) -> bool:
        """Everything not deliberately lost was accepted."""
        return self.failed_batches == 0 and self.events_rejected == 0

    def table(self) -> Table:
        """The summary as a rich table."""
        table = Table(title="playpipe simulate", show_header=False)
        table.add_column("what")
        table.add_column("value", justify="right")
        rows: list[tuple[str, object]] = [
            ("viewers / views", f"{self.viewers} / {self.views}"),
            ("events generated", self.events),
            ("batches (+ duplicate copies)", f"{self.batches} (+{self.duplicate_batches})"),
            ("lost on purpose", f"{self.lost_batches} batches, {self.lost_events} events"),
            ("requests / retries", f"{self.requests} / {self.retries}"),
            ("accepted", f"{self.batches_sent} batches, {self.events_sent} events"),
            ("given up / refused events", f"{self.failed_batches} / {self.events_rejected}"),
            ("outcomes", ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))),
            ("elapsed", f"{self.elapsed_s:.1f} s"),
        ]
        if self.truth is not None:
            rows.append(("truth", f"{self.truth.views} (+ .windows.jsonl, .timelines.jsonl)"))
        for name, value in rows:
            table.add_row(name, str(value))
        return table


def simulated_start_ms(real_now_ms: int, span_ms: int, time_scale: float) -> int:
    """Where simulated time starts so that it never overtakes the wall clock."""
    lead = math.ceil(span_ms * (1.0 - 1.0 / time_scale)) if time_scale > 1 else 0
    start = real_now_ms - lead - SAFETY_MARGIN_MS
    return start - start % GRID_MS


class _Pacer:
    """Dispatches batches at their scaled send times with bounded concurrency."""

    def __init__(self, sender: Sender, start_ms: int, time_scale: float, limit: int) -> None:
        self.sender = sender
        self.start_ms = start_ms
        self.scale = time_scale
        self.slots = asyncio.Semaphore(limit)
        self.tasks: set[asyncio.Task[bool]] = set()
        self.loop = asyncio.get_running_loop()
        self.mono0 = self.loop.time()
        self.simulated_ms = 0

    async def dispatch(self, batch: ScheduledBatch) -> None:
        due = self.mono0 + (batch.send_ms - self.start_ms) / 1000.0 / self.scale
        delay = due - self.loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await self.slots.acquire()
        self.simulated_ms = batch.send_ms - self.start_ms
        task = asyncio.create_task(self.sender.send(batch))
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[bool]) -> None:
        self.tasks.discard(task)
        self.slots.release()

    async def drain(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks))

    async def cancel(self) -> None:
        """Stop what is still in flight (after an error or a cancellation)."""
        pending = list(self.tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def _progress(enabled: bool, console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]simulate"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[facts]}"),
        TimeElapsedColumn(),
        console=console,
        disable=not enabled,
        transient=False,
    )


async def run_simulation_async(
    collector_url: str,
    viewers: int,
    duration_s: float,
    time_scale: float,
    seed: int,
    truth_path: Path | None,
    property_key: str = "demo",
    lost_batch_share: float = 0.0,
    duplicate_share: float = 0.02,
    degrade: DegradeSpec | None = None,
    progress: bool = True,
    *,
    options: SimOptions | None = None,
    client: httpx.AsyncClient | None = None,
    console: Console | None = None,
    wall_clock: Callable[[], float] = time.time,
) -> Summary:
    """The asynchronous form of :func:`run_simulation` (for callers with an event loop).

    ``client`` replaces the HTTP client (its base settings are then the caller's);
    ``wall_clock`` is the clock ``sent_at`` and the simulated start are read from.
    """
    if time_scale <= 0:
        raise ValueError(f"time_scale must be > 0, got {time_scale}")
    o = options or SimOptions()
    began = time.monotonic()
    span = grid(duration_s * 1000) + tail_ms(o)
    start_ms = simulated_start_ms(int(wall_clock() * 1000), span, max(time_scale, 1.0))
    gen = Generation(
        viewers,
        duration_s,
        seed,
        start_ms=start_ms,
        property_key=property_key,
        lost_batch_share=lost_batch_share,
        duplicate_share=duplicate_share,
        degrade=degrade,
        options=o,
    )
    own_client = client is None
    http = client or httpx.AsyncClient(
        timeout=o.request_timeout_s,
        limits=httpx.Limits(
            max_connections=o.max_in_flight, max_keepalive_connections=o.max_in_flight
        ),
        trust_env=False,
    )
    sender = Sender(http, collector_url, property_key, o, wall_clock=wall_clock)
    console = console or Console(stderr=True)
    pacer = _Pacer(sender, gen.start_ms, time_scale, o.max_in_flight)
    try:
        with _progress(progress, console) as bar:
            task = bar.add_task("simulate", total=span, facts="")
            for batch in gen:
                await pacer.dispatch(batch)
                s = sender.stats
                bar.update(
                    task,
                    completed=pacer.simulated_ms,
                    facts=f"{s.events_sent} events · {s.requests} requests · "
                    f"{s.retries} retries · {s.in_flight} in flight",
                )
            await pacer.drain()
            bar.update(task, completed=span)
    finally:
        await pacer.cancel()
        if own_client:
            await http.aclose()
    files = gen.write_truth(truth_path) if truth_path is not None else None
    summary = _summary(gen, sender, time.monotonic() - began, files)
    if progress:
        console.print(summary.table())
    return summary


def _summary(gen: Generation, sender: Sender, elapsed: float, files: TruthFiles | None) -> Summary:
    g, s = gen.stats, sender.stats
    return Summary(
        viewers=g.viewers,
        views=g.views,
        events=g.events,
        batches=g.batches,
        lost_batches=g.lost_batches,
        lost_events=g.lost_events,
        duplicate_batches=g.duplicate_batches,
        requests=s.requests,
        retries=s.retries,
        batches_sent=s.batches_sent,
        events_sent=s.events_sent,
        failed_batches=s.failed_batches,
        failed_events=s.failed_events,
        events_rejected=s.events_rejected,
        outcomes=dict(g.outcomes),
        start_ms=gen.start_ms,
        end_ms=gen.horizon_ms,
        elapsed_s=elapsed,
        truth=files,
        statuses=dict(s.statuses),
        generation=gen,
    )


def run_simulation(
    collector_url: str,
    viewers: int,
    duration_s: float,
    time_scale: float,
    seed: int,
    truth_path: Path | None,
    property_key: str = "demo",
    lost_batch_share: float = 0.0,
    duplicate_share: float = 0.02,
    degrade: DegradeSpec | None = None,
    progress: bool = True,
    *,
    options: SimOptions | None = None,
) -> Summary:
    """Simulate viewers against the collector at ``collector_url`` and return a summary.

    ``viewers`` viewer slots (about that many people watch at once) play for ``duration_s``
    seconds of simulated time, ``time_scale`` times faster than real time. Every batch not
    deliberately lost (``lost_batch_share``) is delivered, retrying 429/503/5xx and network
    errors; a share (``duplicate_share``) is delivered twice. With ``truth_path``, the true
    view records go there, the true window aggregates to ``<truth_path>.windows.jsonl`` and
    the timelines (to recompute the truth on observed times, see ``recompute``) to
    ``<truth_path>.timelines.jsonl``. With ``progress``, a progress bar and the summary
    table are printed on stderr.
    """
    return asyncio.run(
        run_simulation_async(
            collector_url,
            viewers,
            duration_s,
            time_scale,
            seed,
            truth_path,
            property_key,
            lost_batch_share,
            duplicate_share,
            degrade,
            progress,
            options=options,
        )
    )
