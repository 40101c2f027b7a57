"""Collector throughput and latency against real Kafka, beside a bare decode-and-produce ceiling.

For each server: a 5 s warm-up, then ``wrk -t1 -c32`` (``--connections``) for ``--seconds``
posting batches of 10 events (64 different bodies); then playpipe's collector again at half of
its measured maximum rate (paced requests) for the latency at a sustainable load. wrk, the
server and Kafka share the machine's cores.

Two peers run in the same job, one worker each like the collector:

- the ceiling (``ceiling.py``): decode the batch, produce each event, answer at once;
- the durable ceiling (``ceiling_durable.py``): the same, answering only once Kafka
  acknowledged every event, which is what playpipe promises (202 means Kafka or the fsynced
  spool has the events). With a fixed number of connections its rate is bounded by Kafka's
  acknowledgement latency, not by CPU.

``--repeat N`` runs the three servers N times in turn and reports the medians, which steadies
the figures on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import msgspec

from playpipe.config import Config, KafkaSettings, LocalKafkaSettings
from playpipe.dictionary import encode_event, example_event
from playpipe.kafka.local import LocalCluster
from playpipe.kafka.topics import apply_topics

HERE = Path(__file__).parent
PORT = 48080
EVENT_TYPES = [
    "playing",
    "heartbeat",
    "paused",
    "rendition_change",
    "heartbeat",
    "seek_start",
    "seek_end",
    "heartbeat",
    "playing",
    "heartbeat",
]


# What the web SDK puts on the wire: the envelope and fluxdata on every event; player,
# content and custom metadata only when they change (here: on the first event of a batch).
# Device, geo and network are the collector's to fill. ``--shape full`` sends every node of
# the dictionary on every event instead (about 1.7 KB per event), the worst case.
SDK_KEYS = ("event_type", "schema_version", "event_id", "seq", "client_ts", "view_id")
SDK_KEYS += ("viewer_id", "session_id", "property", "source", "fluxdata")
META_KEYS = ("player", "content", "custom")


def make_bodies(folder: Path, count: int = 64, shape: str = "sdk") -> list[Path]:
    paths = []
    for n in range(count):
        view = f"view-{uuid.uuid4().hex[:12]}"
        events = []
        for seq, kind in enumerate(EVENT_TYPES):
            data = msgspec.json.decode(encode_event(example_event(kind, full=True)))
            data.update(event_id=uuid.uuid4().hex, view_id=view, seq=seq, property="bench")
            data.pop("received_at", None)
            data.pop("event_ts", None)
            if shape == "sdk":
                keep = SDK_KEYS + (META_KEYS if seq == 0 else ())
                data = {key: data[key] for key in keep if key in data}
            events.append(data)
        path = folder / f"body-{n}.json"
        path.write_bytes(msgspec.json.encode(events))
        paths.append(path)
    return paths


def wait_http(url: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"server at {url} did not come up")


def wrk(
    bodies: list[Path], seconds: int, connections: int = 32, pace_ms: int = 0
) -> dict[str, float]:
    env = {**os.environ, "BODIES": " ".join(map(str, bodies)), "PACE_MS": str(pace_ms)}
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "-s",
        str(HERE / "wrk_post.lua"),
        f"http://127.0.0.1:{PORT}",
    ]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    match = re.search(
        r"RESULT requests=(\d+) duration_us=(\d+) non2xx=(\d+) p50_us=(\d+) p99_us=(\d+)", out
    )
    if match is None:
        raise SystemExit(f"wrk printed no result:\n{out}")
    requests, duration, non2xx, p50, p99 = map(int, match.groups())
    return {
        "req_s": requests / (duration / 1e6),
        "events_s": 10 * requests / (duration / 1e6),
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
        "non2xx": non2xx,
    }


def run_server(
    command: list[str],
    env: dict[str, str],
    bodies: list[Path],
    seconds: int,
    pace_ms: int = 0,
    warm: bool = True,
    connections: int = 32,
) -> dict[str, float]:
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            try:
                wait_http(f"http://127.0.0.1:{PORT}/healthz")
            except SystemExit:
                log.seek(0)
                tail = log.read().decode(errors="replace")[-3000:]
                raise SystemExit(
                    f"{' '.join(command)} did not come up; its output:\n{tail}"
                ) from None
            if warm:
                wrk(bodies, 5, connections)
            return wrk(bodies, seconds, connections, pace_ms=pace_ms)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the three servers")
    parser.add_argument("--bootstrap-servers", help="use this Kafka instead of starting one")
    parser.add_argument(
        "--shape",
        choices=("sdk", "full"),
        default="sdk",
        help="events as the web SDK sends them (default) or with every dictionary node",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    tmp = Path(tempfile.mkdtemp(prefix="playpipe-bench-"))
    cluster = None
    bootstrap = args.bootstrap_servers
    if not bootstrap:
        cluster = LocalCluster(LocalKafkaSettings(port_base=49292), tmp / "kafka")
        bootstrap = cluster.start(nodes=1, port_base=49292)
    try:
        prefix = f"bench{uuid.uuid4().hex[:6]}"
        config = Config(kafka=KafkaSettings(bootstrap_servers=bootstrap))
        config.topics.prefix = prefix
        apply_topics(config)
        bodies = make_bodies(tmp, shape=args.shape)
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYPIPE_")}
        playpipe_env = {
            **base_env,
            "PLAYPIPE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "PLAYPIPE_TOPICS_PREFIX": prefix,
            "PLAYPIPE_COLLECTOR_SPOOL_DIR": str(tmp / "spool"),
        }
        playpipe_cmd = [sys.executable, "-m", "playpipe", "collect", "--open", "--port", str(PORT)]
        ceiling_env = {
            **base_env,
            "BENCH_BOOTSTRAP": bootstrap,
            "BENCH_TOPIC": f"{prefix}.beacons.raw",
            "PYTHONPATH": str(HERE),
        }

        def granian(target: str) -> list[str]:
            return [
                sys.executable,
                "-m",
                "granian",
                "--interface",
                "asgi",
                "--loop",
                "uvloop",
                "--host",
                "127.0.0.1",
                "--port",
                str(PORT),
                "--no-ws",
                target,
            ]

        servers = {
            "playpipe collector (max)": (playpipe_cmd, playpipe_env),
            "ceiling: decode + produce": (granian("ceiling:app"), ceiling_env),
            "durable ceiling: + wait for acks": (granian("ceiling_durable:app"), ceiling_env),
        }
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
        for _ in range(args.repeat):
            for name, (command, env) in servers.items():
                result = run_server(
                    command, env, bodies, args.seconds, connections=args.connections
                )
                rounds[name].append(result)
        results = {name: _median(runs) for name, runs in rounds.items()}
        full = results["playpipe collector (max)"]
        # Half of the measured maximum, paced: each connection waits pace_ms per request.
        half_rate = full["req_s"] / 2
        pace_ms = max(1, int(args.connections * 1000 / half_rate - full["p50_ms"]))
        results["playpipe collector (paced ~half)"] = run_server(
            playpipe_cmd,
            playpipe_env,
            bodies,
            args.seconds,
            pace_ms=pace_ms,
            connections=args.connections,
        )

        body_bytes = sum(p.stat().st_size for p in bodies) / len(bodies)
        print(
            f"batches of 10 events, {body_bytes / 1000:.1f} KB per body ({args.shape}), "
            f"{args.connections} connections, median of {args.repeat} round(s)"
        )
        print(
            f"{'run':<34} {'events/s':>10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}"
        )
        for name, r in results.items():
            figures = f"{r['events_s']:>10,.0f} {r['req_s']:>8,.0f} {r['p50_ms']:>8.2f}"
            print(f"{name:<34} {figures} {r['p99_ms']:>8.2f} {r['non2xx']:>8.0f}")
        ceiling = results["ceiling: decode + produce"]
        durable = results["durable ceiling: + wait for acks"]
        print(f"playpipe / ceiling: {full['events_s'] / ceiling['events_s']:.2f}")
        print(f"playpipe / durable ceiling: {full['events_s'] / durable['events_s']:.2f}")
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


if __name__ == "__main__":
    main()
