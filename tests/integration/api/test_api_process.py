"""The real ``playpipe api`` process: live events as windows arrive, a clean stop."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from playpipe.config import Config
from playpipe.kafka.topics import apply_topics
from tests.integration.api.kafka_io import ApiProcess, produce, wait_for
from tests.unit.api.synth import view, window

pytestmark = pytest.mark.kafka


@pytest.fixture
def api(kafka_config: Config, tmp_path: Path) -> Iterator[ApiProcess]:
    apply_topics(kafka_config)
    process = ApiProcess(kafka_config, tmp_path)
    try:
        yield process
    finally:
        process.kill()


def read_until(
    lines: Iterator[str], done: Callable[[list[tuple[str, dict]]], bool], timeout: float
) -> list[tuple[str, dict]]:
    """Server-sent events, until ``done(events)`` (keep-alives arrive every 15 s at most)."""
    events: list[tuple[str, dict]] = []
    kind = ""
    deadline = time.monotonic() + timeout
    for line in lines:
        if line.startswith("event: "):
            kind = line[len("event: ") :]
        elif line.startswith("data: "):
            events.append((kind, msgspec.json.decode(line[len("data: ") :])))
            if done(events):
                break
        assert time.monotonic() < deadline, f"events so far: {events}"
    return events


def test_live_events_then_clean_stop(api: ApiProcess, kafka_config: Config) -> None:
    now = int(time.time() * 1000) // 10_000 * 10_000
    with (
        httpx.Client(base_url=api.url, timeout=30) as http,
        http.stream("GET", "/v1/live?window=10s&filter=cdn:akamai") as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines) == "retry: 3000"
        produce(
            kafka_config,
            [
                window(now - 20_000, {"cdn": "fastly"}, starts=1),  # filtered out
                window(now - 20_000, {"cdn": "akamai"}, "1m", starts=2),  # another window
                window(now - 20_000, {"cdn": "akamai"}, starts=3),
                window(now - 20_000, {"cdn": "akamai"}, revision=1, starts=4),
            ],
            [view("live-1", now, cdn="akamai")],
        )
        events = read_until(
            lines,
            lambda got: (
                ("view", None) in [(k, None) for k, _ in got]
                and any(k == "window" and e["revision"] == 1 for k, e in got)
            ),
            60,
        )
    windows = [(e["revision"], e["starts"]) for kind, e in events if kind == "window"]
    assert windows in ([(1, 4)], [(0, 3), (1, 4)])  # one batch or two
    assert [e["view_id"] for kind, e in events if kind == "view"] == ["live-1"]
    # the store answers right away with the corrected value
    body = httpx.get(f"{api.url}/v1/metrics?name=starts&by=cdn&from=-5m", timeout=10).json()
    by_cdn = {s["group"]["cdn"]: s["values"]["starts"] for s in body["series"]}
    assert by_cdn["akamai"] == [4]
    metrics = httpx.get(f"{api.url}/metrics", timeout=10).text
    assert 'playpipe_received_events_total{component="api"}' in metrics
    health = httpx.get(f"{api.url}/healthz", timeout=10).json()
    assert health["ingest"] == "running" and health["records"] >= 5


def test_stops_cleanly_with_a_live_stream_open(api: ApiProcess) -> None:
    with (
        httpx.Client(base_url=api.url, timeout=30) as http,
        http.stream("GET", "/v1/live") as stream,
    ):
        next(stream.iter_lines())
        started = time.monotonic()
        code = api.stop(timeout=40)
    assert code == 0, api.log()
    assert time.monotonic() - started < 30
    assert "store.ingest_stopped" in api.log()
    wait_for(lambda: api.proc.poll() is not None)
