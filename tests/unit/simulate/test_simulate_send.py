"""Sending over real HTTP: retries until everything not lost on purpose has arrived."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import msgspec
import pytest

from playpipe.collector.app import CollectorApp, Topics
from playpipe.collector.enrich import Enricher, correct_time
from playpipe.collector.settings import CollectorSettings
from playpipe.collector.sink import OutRecord
from playpipe.dictionary import Event, decode_events
from playpipe.simulate import (
    SimOptions,
    Summary,
    load_timelines,
    recompute,
    run_simulation,
    run_simulation_async,
)
from playpipe.simulate.run import simulated_start_ms
from playpipe.simulate.sender import retry_after_s
from playpipe.sources.native import NativeFormat
from tests.unit.simulate.reference import replay

FAST = SimOptions(backoff_base_s=0.01, backoff_max_s=0.05)
NATIVE = NativeFormat()


@dataclass
class Received:
    received_at: int
    query: dict[str, str]
    user_agent: str
    events: list[Event]


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 in a thread; ``script`` picks each answer."""

    url: str
    script: Callable[[int], tuple[int, dict[str, str]]]
    received: list[Received] = field(default_factory=list)
    answers: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(receiver_box: list[Receiver]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            received_at = int(time.time() * 1000)
            receiver = receiver_box[0]
            body = self.rfile.read(int(self.headers["content-length"]))
            with receiver.lock:
                number = sum(receiver.answers.values())
                status, headers = receiver.script(number)
                receiver.answers[status] += 1
                if status == 202:
                    split = urlsplit(self.path)
                    query = {k: v[0] for k, v in parse_qs(split.query).items()}
                    receiver.received.append(
                        Received(
                            received_at, query, self.headers["user-agent"], decode_events(body)
                        )
                    )
            payload = b'{"accepted": 1, "rejected": []}' if status == 202 else b'{"error": "x"}'
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Callable[[Callable[[int], tuple[int, dict[str, str]]]], Receiver]]:
    servers: list[ThreadingHTTPServer] = []

    def start(script: Callable[[int], tuple[int, dict[str, str]]]) -> Receiver:
        box: list[Receiver] = []
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(box))
        server.daemon_threads = True
        box.append(Receiver(f"http://127.0.0.1:{server.server_address[1]}", script))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return box[0]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _script(number: int) -> tuple[int, dict[str, str]]:
    if number < 15:
        return 503, {"retry-after": "0"}
    if number < 20:
        return 429, {"retry-after": "0"}
    if number % 37 == 0:
        return 500, {}
    return 202, {}


def test_everything_not_lost_arrives_despite_refusals(
    receiver: Callable[..., Receiver], tmp_path: Path
) -> None:
    server = receiver(_script)
    summary = asyncio.run(
        run_simulation_async(
            server.url,
            viewers=12,
            duration_s=240,
            time_scale=200,
            seed=3,
            truth_path=tmp_path / "truth.jsonl",
            lost_batch_share=0.1,
            duplicate_share=0.1,
            progress=False,
            options=FAST,
        )
    )
    assert summary.complete and summary.failed_batches == 0
    assert server.answers[503] == 15 and server.answers[429] == 5 and server.answers[500] > 0
    assert summary.retries == sum(server.answers.values()) - server.answers[202]
    assert summary.requests == sum(server.answers.values())
    arrived = Counter(e.event_id for r in server.received for e in r.events)
    assert sum(arrived.values()) == summary.events_sent
    assert summary.events_sent == summary.events - summary.lost_events + _duplicated(server)
    assert summary.truth is not None
    views = [msgspec.json.decode(line) for line in summary.truth.views.read_bytes().splitlines()]
    assert len(views) == summary.views
    assert sum(v["events_lost"] for v in views) == summary.lost_events > 0
    assert sum(v["event_count"] for v in views) == summary.events
    assert len(arrived) == summary.events - summary.lost_events
    assert summary.lost_batches / summary.batches == pytest.approx(0.1, abs=0.06)


def _duplicated(server: Receiver) -> int:
    counts = Counter(e.event_id for r in server.received for e in r.events)
    return sum(n - 1 for n in counts.values())


def test_sent_at_makes_the_collector_correction_give_true_time(
    receiver: Callable[..., Receiver],
) -> None:
    """Skewed clocks and a 100x time scale: corrected time = true time + transit."""
    server = receiver(lambda n: (202, {}))
    summary = asyncio.run(
        run_simulation_async(
            server.url, 10, 180, 100, seed=8, truth_path=None, progress=False, options=FAST
        )
    )
    skews = set()
    for r in server.received:
        sent_at = int(r.query["sent_at"])
        assert r.query["key"] == "demo"
        assert r.user_agent.startswith(("Mozilla/", "Roku/", "AppleCoreMedia/"))
        for e in r.events:
            event_ts, flagged = correct_time(e.client_ts, sent_at, r.received_at)
            skews.add(e.client_ts - event_ts)
            assert not flagged
            assert e.client_ts <= sent_at
    assert summary.events_sent == sum(len(r.events) for r in server.received)
    assert len({s // 1000 for s in skews}) > 3  # several viewers, several clocks


def test_run_simulation_is_synchronous_and_bounded(receiver: Callable[..., Receiver]) -> None:
    server = receiver(lambda n: (400, {}))  # refusals that retrying cannot fix
    summary = run_simulation(
        server.url, 3, 60, 200, seed=1, truth_path=None, progress=False, options=FAST
    )
    assert summary.batches_sent == 0 and summary.retries == 0
    assert summary.failed_batches == summary.batches + summary.duplicate_batches
    assert not summary.complete


def test_unreachable_collector_gives_up_within_the_budget() -> None:
    options = SimOptions(backoff_base_s=0.01, backoff_max_s=0.02, max_attempts=3)
    summary = run_simulation(
        "http://127.0.0.1:9", 2, 30, 200, seed=1, truth_path=None, progress=False, options=options
    )
    assert summary.batches_sent == 0
    assert summary.failed_batches == summary.batches + summary.duplicate_batches
    assert summary.requests == 3 * summary.failed_batches


def test_progress_bar_and_summary_table(receiver: Callable[..., Receiver]) -> None:
    from rich.console import Console

    server = receiver(lambda n: (202, {}))
    console = Console(record=True, width=120)
    summary = asyncio.run(
        run_simulation_async(
            server.url, 3, 60, 200, seed=2, truth_path=None, progress=True, console=console
        )
    )
    text = console.export_text()
    assert "simulate" in text and "events generated" in text and str(summary.events) in text


def test_retry_after_and_simulated_start() -> None:
    assert retry_after_s("3") == 3.0 and retry_after_s("0") == 0.0
    assert retry_after_s(None) is None and retry_after_s("Wed, 21 Oct 2015") is None
    assert retry_after_s("-1") is None
    now = 1_800_000_000_000
    assert simulated_start_ms(now, 600_000, 1) == now - 250
    start = simulated_start_ms(now, 600_000, 100)
    # at the end of the run (600 s simulated = 6 s real) simulated time is still behind
    assert start + 600_000 <= now + 6_000


# -- through the real collector app, in process -------------------------------------------


class _MemorySink:
    kafka_ok = True
    spool_full = False

    def __init__(self) -> None:
        self.records: list[OutRecord] = []

    async def deliver(self, records: Sequence[OutRecord]) -> str:
        self.records.extend(records)
        return "kafka"

    def start(self) -> None:
        pass

    async def close(self, drain_s: float = 10.0) -> None:
        pass


class _Clock:
    """One wall clock for the collector and the simulator (clock steps cannot skew them)."""

    def __init__(self) -> None:
        self.base = time.time()
        self.mono = time.monotonic()

    def __call__(self) -> float:
        return self.base + (time.monotonic() - self.mono)


def _collector(clock: _Clock) -> tuple[CollectorApp, _MemorySink]:
    sink = _MemorySink()
    settings = msgspec.convert({"open": True}, CollectorSettings)
    app = CollectorApp(
        settings, Topics("raw", "invalid"), lambda: sink, Enricher(settings.enrich), clock=clock
    )
    app.sink = sink
    return app, sink


def _through_collector(
    tmp_path: Path, options: SimOptions
) -> tuple[Summary, list[Event], dict[str, int]]:
    """Simulate into the real collector app (in process); returns what it produced."""
    clock = _Clock()
    app, sink = _collector(clock)

    async def simulate() -> Summary:
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 4444))
        async with httpx.AsyncClient(transport=transport) as http:
            return await run_simulation_async(
                "http://collector",
                8,
                240,
                100,
                seed=21,
                truth_path=tmp_path / "truth.jsonl",
                progress=False,
                options=options,
                client=http,
                wall_clock=clock,
            )

    summary = asyncio.run(simulate())
    assert not [r for r in sink.records if r.topic == "invalid"]
    events = [e for r in sink.records if r.topic == "raw" for e in NATIVE.map(r.value, {})]
    assert len(events) == summary.events_sent
    for e in events:
        assert e.device is not None and e.device.type is not None
        assert e.network is not None and e.network.ip == "203.0.113.0"
        assert not e.skew_flagged and e.event_ts is not None
    observed: dict[str, int] = {}
    for e in sorted(events, key=lambda e: e.received_at or 0):
        observed.setdefault(e.event_id, e.event_ts or 0)  # the first copy to arrive
    return summary, events, observed


_EXACT_FIELDS = (
    "startup_time_ms",
    "playing_time_ms",
    "rebuffering_time_ms",
    "paused_time_ms",
    "watch_time_ms",
    "rebuffer_count",
    "avg_bitrate_kbps",
    "outcome",
    "end_ms",
)


def test_exact_clocks_give_event_ts_equal_to_true_time(tmp_path: Path) -> None:
    """Exact client clocks: the collector's event_ts is the true time, to the millisecond,
    so the truth file itself matches what the pipeline sees."""
    options = SimOptions(skewed_clocks=False, backoff_base_s=0.01, backoff_max_s=0.05)
    summary, events, observed = _through_collector(tmp_path, options)
    assert summary.generation is not None
    for tl in summary.generation.timelines:
        for t, _, event_id in tl.changes:
            assert observed[event_id] == t
    replayed = replay(events, lambda e: observed[e.event_id])
    for truth in summary.generation.views:
        got = replayed[truth.view_id].as_truth()
        for name in _EXACT_FIELDS:
            assert got[name] == getattr(truth, name), (truth.view_id, name)


def test_skewed_clocks_truth_recomputed_on_event_ts_is_exact(tmp_path: Path) -> None:
    """Skewed clocks: event_ts is off by transit or by a sub-second clock error the collector
    tolerates; the truth recomputed on the observed times matches a replay exactly."""
    summary, events, observed = _through_collector(tmp_path, FAST)
    assert summary.truth is not None
    views, windows = recompute(load_timelines(summary.truth.views), observed)
    replayed = replay(events, lambda e: observed[e.event_id])
    assert len(views) == len(replayed) == summary.views
    for truth in views:
        got = replayed[truth.view_id].as_truth()
        for name in _EXACT_FIELDS:
            assert got[name] == getattr(truth, name), (truth.view_id, name)
    assert windows
    assert summary.generation is not None
    offsets = [
        observed[event_id] - t
        for tl in summary.generation.timelines
        for t, _, event_id in tl.changes
    ]
    assert max(abs(o) for o in offsets) < 1_500  # never the minutes or hours of clock error
    assert any(o != 0 for o in offsets)


def test_cancelling_a_run_leaves_nothing_running(receiver: Callable[..., Receiver]) -> None:
    server = receiver(lambda n: (202, {}))

    async def cancel_soon() -> None:
        run = asyncio.create_task(
            run_simulation_async(server.url, 20, 600, 100, seed=4, truth_path=None, progress=False)
        )
        for _ in range(100):  # until it has started sending
            await asyncio.sleep(0.05)
            if server.received:
                break
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(cancel_soon())
    assert server.received  # it had started sending
