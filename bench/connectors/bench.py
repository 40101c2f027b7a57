"""Connector throughput and latency, each next to a plain peer run on the same machine.

1. Throughput: a prepared topic of N events (default 1,000,000) read by one
   ``playpipe connect`` process per destination (PostgreSQL, Parquet, a local webhook
   receiver); events/s from the first to the last delivered event.
   Peers on the same rows, without Kafka: a bare psycopg binary ``COPY`` per batch, pyarrow
   writing the same batches, an httpx loop posting the same NDJSON batches to the same
   receiver.
2. Latency: events produced at a fixed rate (default 20,000/s) for D seconds; p50/p99 of
   produce time -> destination receipt (webhook: the receiver's clock; PostgreSQL: the
   loading transaction's ``now()``; Parquet: the file's modification time).

Run through ``bench/connectors/run.sh`` (``python -m bench.connectors.bench`` from the
repository root); it prints every figure. Not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
from bench.connectors.peers import parquet_peer, postgres_peer, webhook_peer
from bench.connectors.sinks import (
    CountingReceiver,
    lake_latencies,
    lake_rows,
    pg_count,
    pg_latencies,
)

BATCH = "[connectors.batch]\nmax_events = 5000\nmax_bytes = 5000000\nmax_age_ms = 200\n"


def live_batch(max_age_ms: int) -> str:
    """Batches of the latency runs: what a live delivery would configure."""
    return (
        f"[connectors.batch]\nmax_events = 5000\nmax_bytes = 5000000\nmax_age_ms = {max_age_ms}\n"
    )


# Parquet wants big files: a batch is split into one file per partition (6 here), and a small
# file costs its ~80 mostly empty leaf columns' metadata.
# (throughput run only; the latency runs use live_batch)
LAKE_BATCH = "[connectors.batch]\nmax_events = 60000\nmax_bytes = 60000000\nmax_age_ms = 5000\n"
LAKE_EVENTS = 60_000


def make_event(i: int, tag: str, now_ms: float | None = None) -> dict[str, Any]:
    """A realistic heartbeat-sized event (about 450 bytes as JSON)."""
    ts = 1_732_579_200_000 + i
    event: dict[str, Any] = {
        "event_type": ("heartbeat", "playing", "rendition_change")[i % 3],
        "event_id": f"{tag}-{i:08d}",
        "seq": i // 1000,
        "client_ts": ts,
        "received_at": ts + 40,
        "event_ts": ts + 20,
        "view_id": f"view-{tag}-{i % 1000:04d}",
        "viewer_id": f"viewer-{i % 1000:04d}",
        "source": "sdk",
        "player": {"name": "hls.js", "version": "1.5.13", "integration": "hlsjs"},
        "device": {"type": "desktop", "os": "Linux", "browser": "Chrome"},
        "geo": {"country": "FR", "region": "IDF"},
        "fluxdata": {"playhead_ms": i * 10, "bitrate_kbps": 2500.0, "buffer_ms": 12000},
    }
    if now_ms is not None:
        event["bench_ts"] = now_ms
    return event


def produce(bootstrap: str, topic: str, count: int, tag: str, rate: float = 0.0) -> float:
    """Produce ``count`` events (at ``rate``/s if given); returns the seconds it took."""
    from confluent_kafka import Producer

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 20,
            "batch.size": 1_000_000,
            "compression.type": "lz4",
            "acks": "all",
            "enable.idempotence": True,
        }
    )
    if rate:  # a new producer first fetches metadata and an idempotent producer id: not
        # a delay of the pipeline, so it is done before the clock starts
        producer.produce(topic, orjson.dumps(make_event(0, "warmup")), b"warmup")
        producer.flush(30)
    # Paced runs encode every event before the clock starts and only stamp ``bench_ts`` (the
    # last field) when sending: building and encoding each event then took a third of a core
    # from the machine the connector is measured on.
    stamped = [orjson.dumps(make_event(i, tag, 0.0))[:-4] for i in range(count)] if rate else []
    keys = [f"view-{tag}-{i % 1000:04d}".encode() for i in range(min(count, 1000))]
    started = time.monotonic()
    for i in range(count):
        if rate:
            ahead = started + i / rate - time.monotonic()
            if ahead > 0.001:  # sleep in steps of a millisecond or more, not per event
                time.sleep(ahead)
            value = stamped[i] + b"%.3f}" % (time.time() * 1000)
        else:
            value = orjson.dumps(make_event(i, tag))
        while True:
            try:
                producer.produce(topic, value, keys[i % 1000])
                break
            except BufferError:
                producer.poll(0.01)
        if i % 1000 == 0:
            producer.poll(0)
    producer.flush(120)
    return time.monotonic() - started


def create_topic(bootstrap: str, name: str, partitions: int = 6) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        admin.create_topics([NewTopic(name, partitions, 1)])[name].result(30)
    except Exception as exc:
        if "TOPIC_ALREADY_EXISTS" not in str(exc):
            raise


def write_config(
    path: Path,
    bootstrap: str,
    prefix: str,
    dsn: str,
    lake: Path,
    hook: str,
    ports: list[int],
    live_age_ms: int = 200,
) -> None:
    """One connector per destination on ``events`` (serving ``/metrics`` on ``ports``), and
    one per destination on its own ``live-<kind>`` topic for the latency runs."""
    text = f'[kafka]\nbootstrap_servers = "{bootstrap}"\n[topics]\nprefix = "{prefix}"\n\n'
    for live in (False, True):
        suffix = "-live" if live else ""
        pg_port, lake_port, hook_port = (0, 0, 0) if live else ports
        batch = live_batch(live_age_ms) if live else BATCH
        pg_topic, lake_topic, hook_topic = (
            ("live-pg", "live-lake", "live-hook") if live else ("events",) * 3
        )
        text += (
            f'[[connectors]]\nname = "pg{suffix}"\ntype = "postgres"\ndsn = "{dsn}"\n'
            f'topic = "{pg_topic}"\ntable = "bench_{pg_topic.replace("-", "_")}"\n'
            f"metrics_port = {pg_port}\n{batch}\n"
            f'[[connectors]]\nname = "lake{suffix}"\ntype = "parquet"\n'
            f'path = "{lake / lake_topic}"\ntopic = "{lake_topic}"\ncompression = "snappy"\n'
            f"metrics_port = {lake_port}\n{batch if live else LAKE_BATCH}\n"
            f'[[connectors]]\nname = "hook{suffix}"\ntype = "webhook"\nurl = "{hook}"\n'
            f'topic = "{hook_topic}"\nformat = "ndjson"\nmetrics_port = {hook_port}\n{batch}\n'
        )
    path.write_text(text)


class Connect:
    """``playpipe connect NAME`` as a child process."""

    def __init__(self, name: str, config: Path, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYPIPE_")}
        env["PLAYPIPE_CONFIG"] = str(config)
        env["PLAYPIPE_LOG_LEVEL"] = "WARNING"
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "playpipe", "connect", name],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(60)


_http = httpx.Client(timeout=5)
"""One client for every poll: ``httpx.get`` builds a client (and its TLS context) per call,
which at 10 polls a second took a quarter of a core from the connector being measured."""


def delivered(port: int, name: str) -> int:
    """The connector's delivered-events counter, read from its ``/metrics``: polling it costs
    the destination nothing (a ``count(*)`` of a growing table would compete with the load)."""
    try:
        text = _http.get(f"http://127.0.0.1:{port}/metrics").text
    except httpx.HTTPError:
        return 0
    prefix = f'playpipe_connector_delivered_events_total{{connector="{name}"}} '
    for line in text.splitlines():
        if line.startswith(prefix):
            return int(float(line[len(prefix) :]))
    return 0


def throughput(name: str, count_fn: Any, total: int, config: Path, log: Path) -> float:
    """events/s of one connector from its first to its last delivered event."""
    connect = Connect(name, config, log)
    try:
        first_at = None
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            done = count_fn()
            if done and first_at is None:
                first_at, first_count = time.monotonic(), done
            if done >= total:
                assert first_at is not None
                return (done - first_count) / max(time.monotonic() - first_at, 1e-9)
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not finish; see {log}")
    finally:
        connect.stop()


def wait_assigned(bootstrap: str, group: str, timeout: float = 60) -> None:
    """Wait until ``group`` is stable with its partitions assigned (a fixed sleep was too
    short on a busy machine: events produced before the assignment wait for it)."""
    from confluent_kafka import ConsumerGroupState
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = admin.describe_consumer_groups([group])[group].result(10)
        except Exception:  # not known to the coordinator yet
            found = None
        if (
            found is not None
            and found.state == ConsumerGroupState.STABLE
            and any(m.assignment.topic_partitions for m in found.members)
        ):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the consumer group {group} got no partitions in {timeout:.0f} s")


def percentiles(values: list[float]) -> str:
    if not values:
        return "no samples"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):.0f} ms, p99 {p99:.0f} ms ({len(values)} samples)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=20_000)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--peer-events", type=int, default=200_000)
    parser.add_argument(
        "--live-age-ms", type=int, default=200, help="batch age limit of the latency runs"
    )
    parser.add_argument(
        "--latency-only", action="store_true", help="skip the throughput runs and their peers"
    )
    args = parser.parse_args()

    from tests.integration.connectors.pg import PostgresServer, free_port

    work = Path(tempfile.mkdtemp(prefix="playpipe-bench-"))
    pg = PostgresServer()
    pg.start()
    receiver = CountingReceiver().start()
    config, log = work / "playpipe.toml", work / "connect.log"
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    ports = [free_port() for _ in range(3)]
    write_config(
        config, args.bootstrap, prefix, pg.dsn, work / "lake", receiver.url, ports, args.live_age_ms
    )
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    try:
        create_topic(args.bootstrap, f"{prefix}.events")
        create_topic(args.bootstrap, f"{prefix}.live")
        if args.latency_only:
            latency(args, prefix, config, log, pg.dsn, work, receiver)
            return
        took = produce(args.bootstrap, f"{prefix}.events", args.events, "tp")
        print(f"prepared {prefix}.events: {args.events} events in {took:.1f} s")
        n = args.events
        results = {
            "postgres": throughput("pg", lambda: delivered(ports[0], "pg"), n, config, log),
            "parquet": throughput("lake", lambda: delivered(ports[1], "lake"), n, config, log),
            "webhook": throughput("hook", lambda: delivered(ports[2], "hook"), n, config, log),
        }
        stored = {
            "postgres": pg_count(pg.dsn, "bench_events"),
            "parquet": lake_rows(work / "lake" / "events"),
            "webhook": receiver.count,
        }
        print(f"stored at the destinations: {stored} (each should be {n})")
        peers = {
            "postgres": postgres_peer(pg.dsn, args.peer_events, make_event),
            "parquet": parquet_peer(
                work / "peer-lake", args.peer_events, make_event, batch=LAKE_EVENTS
            ),
            "webhook": webhook_peer(receiver, args.peer_events, make_event),
        }
        goals = {"postgres": 50_000, "parquet": 200_000, "webhook": 50_000}
        print(f"\nthroughput, one process each, {n} events (events/s):")
        for kind, value in results.items():
            print(
                f"  {kind:9s} playpipe {value:9,.0f}   peer {peers[kind]:9,.0f}   "
                f"ratio {value / peers[kind]:.2f}   goal {goals[kind]:,}"
            )
        latency(args, prefix, config, log, pg.dsn, work, receiver)
        print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    finally:
        receiver.stop()
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)


def latency(
    args: Any, prefix: str, config: Path, log: Path, dsn: str, work: Path, receiver: Any
) -> None:
    """One connector at a time: produce at a fixed rate to its own topic, read latencies."""
    total = int(args.rate * args.duration)
    lake = work / "lake" / "live-lake"
    runs = (
        ("postgres", "pg-live", "live-pg", lambda: pg_count(dsn, "bench_live_pg")),
        ("parquet", "lake-live", "live-lake", lambda: lake_rows(lake)),
        ("webhook", "hook-live", "live-hook", lambda: receiver.live_count),
    )
    print(
        f"\nend-to-end latency at {args.rate:,.0f} events/s for {args.duration:.0f} s, "
        "one connector at a time (produce -> destination receipt):"
    )
    receiver.sample_latency = True
    for kind, name, topic, delivered in runs:
        create_topic(args.bootstrap, f"{prefix}.{topic}")
        connect = Connect(name, config, log)
        try:
            wait_assigned(args.bootstrap, f"{prefix}-connector-{name}")
            took = produce(args.bootstrap, f"{prefix}.{topic}", total, "lv", args.rate)
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and delivered() < total:
                time.sleep(0.2)
        finally:
            connect.stop()
        values = {
            "postgres": lambda: pg_latencies(dsn, "bench_live_pg"),
            "parquet": lambda: lake_latencies(lake),
            "webhook": lambda: receiver.latencies,
        }[kind]()
        print(f"  {kind:9s} {percentiles(values)}; produced at {total / took:,.0f}/s")


if __name__ == "__main__":
    main()
