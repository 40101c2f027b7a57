"""The QoE job with Kafka, side by side: ``playpipe aggregate`` and the same job in Quix Streams
and in Kafka Streams (Java, ``bench/aggregate/kstreams``).

1. Prepare one topic ``<prefix>.events`` (6 partitions, lz4, keyed by view id) with
   ``--events`` dictionary events of ``--views`` concurrent synthetic views (``pure.py``'s
   generator), event times starting four hours ago; the same events again in
   ``<prefix>.events.kstreams`` for Kafka Streams (its windows, like Quix Streams', would drop
   the backlog as late once another engine's live tail is in the topic).
2. For each engine, one process at a time: start it on the topic from the beginning and time
   it from its first committed offsets to the moment the input and every internal topic it
   reads are committed to their end (offsets polled with the admin API every 0.25 s); then
   produce ``--tail-seconds`` of live views in real time (event time = wall time) and note
   when each window's metric record arrives; then read its peak RSS and stop it (SIGTERM).
3. Compare both engines' window metrics by window x cdn x country x device type over the
   backlog, then print the table.

Window-close lag: a window [s, e) may close once event time passes e + grace (the engine's
allowed lateness); with live events, event time is wall time. The lag of one window x key is
the arrival time (wall clock, read by this process) of its last record, minus e + grace;
windows whose e + grace falls in the tail and at least 1 s before it ends are counted.
Memory: peak RSS (VmHWM) and the growth over the same engine started idle on an empty topic,
divided by the views open at the end of the backlog (an upper bound: it also holds the Kafka
client's buffers and window state).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.aggregate import compare, feed
from bench.aggregate.pure import memory_per_view
from bench.aggregate.watch import Collector, Offsets, Proc
from confluent_kafka.admin import AdminClient

from playpipe.config import Config, KafkaSettings, LocalKafkaSettings
from playpipe.kafka.local import LocalCluster
from playpipe.kafka.topics import apply_topics
from playpipe.streams.aggsettings import AggregationSettings

ROOT = Path(__file__).resolve().parents[2]
GRACE_MS = AggregationSettings().grace_ms
DIMENSIONS = ["cdn", "country", "device_type"]
HOUR_MS = 3_600_000
KSTREAMS_JAR = ROOT / "bench" / "aggregate" / "kstreams" / "target" / "qoe-kstreams.jar"


@dataclass
class Engine:
    name: str
    command: list[str]
    groups: list[str]
    output: str
    grace_ms: int
    source: str


@dataclass
class Run:
    """What was measured of one engine."""

    events: int
    seconds: float
    cpu_s: float
    peak_rss: int
    idle_rss: int
    lags: list[float]
    """Seconds from e + grace to the last record of each window x key of the tail."""
    lag_from_end: list[float]
    log: Path

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def _start(engine: Engine, tmp: Path, tag: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp / f"{engine.name}-{tag}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYPIPE_")}
    env["PYTHONPATH"] = str(ROOT)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            engine.command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc, log


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _check_alive(proc: subprocess.Popen[bytes], log: Path) -> None:
    if proc.poll() is not None:
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"the engine stopped (exit {proc.returncode}); its log ends with:\n{tail}")


def idle_rss(engine: Engine, offsets: Offsets, tmp: Path) -> int:
    """RSS of the engine started on the empty topic, once its group has its partitions."""
    proc, log = _start(engine, tmp, "idle")
    try:
        deadline = time.monotonic() + 120
        while not offsets.stable(engine.groups[0]):
            _check_alive(proc, log)
            if time.monotonic() > deadline:
                raise SystemExit(f"{engine.name}: no partitions assigned within 120 s ({log})")
            time.sleep(0.25)
        settle = time.monotonic() + 2
        while time.monotonic() < settle:  # let it finish its first rounds
            time.sleep(0.25)
        return Proc(proc.pid).status("VmRSS")
    finally:
        _stop(proc)


def measure(
    engine: Engine,
    offsets: Offsets,
    tmp: Path,
    source: str,
    bootstrap: str,
    tail: tuple[float, int, int],
    baseline: int,
) -> tuple[Run, list[tuple[float, float, str]]]:
    """Run one engine through the backlog and the live tail."""
    total = sum(end for (_, _), end in offsets.ends([source]).items())
    proc, log = _start(engine, tmp, "run")
    info = Proc(proc.pid)
    try:
        first: tuple[float, int, float] | None = None
        last_note = time.monotonic()
        deadline = time.monotonic() + 3600
        while True:
            _check_alive(proc, log)
            done, drained = offsets.progress(engine.groups, source)
            now = time.monotonic()
            if first is None and done > 0:
                first = (now, done, info.cpu_s())
            if done >= total and drained:
                break
            if now - last_note > 15:
                print(f"  {engine.name}: {done:,} / {total:,} events committed", file=sys.stderr)
                last_note = now
            if now > deadline:
                raise SystemExit(f"{engine.name} did not finish within an hour ({log})")
            time.sleep(0.25)
        end, cpu_end = time.monotonic(), info.cpu_s()
        assert first is not None
        seconds, tail_rows = end - first[0], _tail(engine, bootstrap, source, tail)
        lags, from_end = [], []
        for closable, at, _key in tail_rows:
            lags.append(at - closable)
            from_end.append(at - closable + engine.grace_ms / 1000)
        run = Run(
            events=total - first[1],
            seconds=seconds,
            cpu_s=cpu_end - first[2],
            peak_rss=info.status("VmHWM"),
            idle_rss=baseline,
            lags=lags,
            lag_from_end=from_end,
            log=log,
        )
        return run, tail_rows
    finally:
        _stop(proc)


def _tail(
    engine: Engine, bootstrap: str, source: str, tail: tuple[float, int, int]
) -> list[tuple[float, float, str]]:
    """Live views for the tail; (e + grace, arrival, key) of each window x key that closed."""
    seconds, views, first_id = tail
    collector = Collector(bootstrap, engine.output)
    collector.start()
    began = time.time()
    feed.live(bootstrap, source, seconds, views, seed=first_id, first_id=first_id)
    stop = time.time()
    settle = time.monotonic() + 5
    while time.monotonic() < settle:  # records of the last closable windows still on the way
        time.sleep(0.25)
    collector.stop()
    latest: dict[str, tuple[float, float]] = {}
    for a in collector.arrivals:
        row = compare.row_of(a.value)
        if row is None:
            continue
        (start, dims), _ = row
        closable = (start + 10_000 + engine.grace_ms) / 1000
        if start / 1000 >= began and closable <= stop - 1:
            latest[f"{start}|{'|'.join(dims)}"] = (closable, a.at)
    return [(c, at, key) for key, (c, at) in sorted(latest.items())]


def _pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--views", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--tail-seconds", type=float, default=45.0, help="live events after each grace"
    )
    parser.add_argument("--bootstrap-servers", help="use this Kafka instead of starting one")
    parser.add_argument(
        "--quix-grace-ms",
        type=int,
        default=300_000,
        help="allowed lateness of the Quix job: it must cover the view's heartbeat interval"
        " and how far apart in event time its input partitions are read while catching up",
    )
    parser.add_argument(
        "--quix-partition-fetch-bytes",
        type=int,
        default=16_384,
        help="max.partition.fetch.bytes of the Quix Streams and Kafka Streams jobs",
    )
    parser.add_argument("--skip-quix", action="store_true")
    parser.add_argument(
        "--kstreams-grace-ms",
        type=int,
        default=300_000,
        help="allowed lateness of the Kafka Streams job (the same constraint as Quix Streams)",
    )
    parser.add_argument(
        "--skip-kstreams", action="store_true", help="without the Kafka Streams job (needs Java)"
    )
    parser.add_argument("--keep-topics", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="playpipe-bench-agg-"))
    cluster = None
    bootstrap = args.bootstrap_servers
    prefix = f"aggbench{uuid.uuid4().hex[:6]}"
    try:
        if not bootstrap:
            port = random.randrange(52000, 58000, 10)
            cluster = LocalCluster(LocalKafkaSettings(port_base=port), tmp / "kafka")
            bootstrap = cluster.start(nodes=1, port_base=port)
        run_all(args, bootstrap, prefix, tmp)
    finally:
        if cluster is not None:
            cluster.stop()
        elif bootstrap and not args.keep_topics:
            _delete_topics(bootstrap, prefix)
        shutil.rmtree(tmp, ignore_errors=True)


def run_all(args: argparse.Namespace, bootstrap: str, prefix: str, tmp: Path) -> None:
    config = Config(kafka=KafkaSettings(bootstrap_servers=bootstrap))
    config.topics.prefix = prefix
    config.streams = AggregationSettings(windows=["10s"], dimension_sets=[DIMENSIONS])
    apply_topics(config)
    source = f"{prefix}.events"
    toml = tmp / "playpipe.toml"
    toml.write_text(
        f'[kafka]\nbootstrap_servers = "{bootstrap}"\n[topics]\nprefix = "{prefix}"\n'
        f'[streams]\nwindows = ["10s"]\ndimension_sets = [{DIMENSIONS!r}]\n'.replace("'", '"')
    )
    playpipe = Engine(
        "playpipe",
        [sys.executable, "-m", "playpipe", "--config", str(toml), "aggregate"],
        [f"{prefix}-aggregator", f"{prefix}-merger"],
        f"{prefix}.metrics.10s",
        GRACE_MS,
        source,
    )
    engines = []
    if not args.skip_quix:
        quix_group = f"{prefix}-quix"
        engines.append(
            Engine(
                "quixstreams",
                [
                    sys.executable,
                    "-m",
                    "bench.aggregate.quix_job",
                    "--bootstrap",
                    bootstrap,
                    "--input",
                    source,
                    "--output",
                    f"{prefix}.quix.metrics",
                    "--group",
                    quix_group,
                    "--state-dir",
                    str(tmp / "quix-state"),
                    "--grace-ms",
                    str(args.quix_grace_ms),
                    "--partition-fetch-bytes",
                    str(args.quix_partition_fetch_bytes),
                ],
                [quix_group],
                f"{prefix}.quix.metrics",
                args.quix_grace_ms,
                source,
            )
        )
    if not args.skip_kstreams:
        ks_source, ks_output, ks_group = (
            f"{source}.kstreams",
            f"{prefix}.kstreams.metrics",
            f"{prefix}-kstreams",
        )
        _create_topics(bootstrap, [ks_source, ks_output])
        engines.append(
            Engine(
                "kafkastreams",
                [
                    "java",
                    "-jar",
                    str(KSTREAMS_JAR),
                    "--bootstrap",
                    bootstrap,
                    "--input",
                    ks_source,
                    "--output",
                    ks_output,
                    "--group",
                    ks_group,
                    "--state-dir",
                    str(tmp / "kstreams-state"),
                    "--grace-ms",
                    str(args.kstreams_grace_ms),
                    "--partition-fetch-bytes",
                    str(args.quix_partition_fetch_bytes),
                ],
                [ks_group],
                ks_output,
                args.kstreams_grace_ms,
                ks_source,
            )
        )
    # Quix Streams runs first: the live tail of the first engine stays in the topic, and
    # the Quix job, whose windows close on the highest timestamp seen per key, would drop
    # the backlog of every partition read after one partition reached those later events.
    # playpipe keeps one watermark per partition, so they are only more input for it.
    engines.append(playpipe)
    same = compare.without_kafka(200_000, args.views, args.seed)
    same.show("the two jobs' logic on 200,000 events in order, no Kafka")
    offsets = Offsets(bootstrap)
    load = [os.getloadavg()[0]]
    print(f"topic prefix {prefix}, Kafka {bootstrap}, load average {load[0]:.1f}")
    baselines = {e.name: idle_rss(e, offsets, tmp) for e in engines}
    base_ms = int(time.time() * 1000) - 4 * HOUR_MS
    backlog = feed.prepare(bootstrap, source, args.events, args.views, args.seed, base_ms)
    for engine in engines:
        if engine.source != source:  # the same events again (the generator is seeded)
            feed.prepare(bootstrap, engine.source, args.events, args.views, args.seed, base_ms)
    print(
        f"prepared {backlog.count:,} events ({backlog.bytes / backlog.count:.0f} B of JSON each)"
        f" in {backlog.seconds:.1f} s: {backlog.count / backlog.seconds:,.0f} events/s;"
        f" event time spans {(backlog.last_ts - backlog.first_ts) / 60_000:.1f} min;"
        f" {backlog.open_views:,} views open at the end"
    )
    runs: dict[str, Run] = {}
    for i, engine in enumerate(engines):
        seconds = args.tail_seconds + engine.grace_ms / 1000  # windows must close in the tail
        tail = (seconds, args.views, (i + 1) * 10_000_000)
        run, _ = measure(
            engine, offsets, tmp, engine.source, bootstrap, tail, baselines[engine.name]
        )
        runs[engine.name] = run
        load.append(os.getloadavg()[0])
        print(
            f"{engine.name}: {run.events:,} events in {run.seconds:.1f} s = {run.rate:,.0f}/s,"
            f" {run.cpu_s / run.seconds:.2f} cores; load average {load[-1]:.1f}"
        )
    for peer in [e for e in engines if e is not playpipe]:
        compared = compare.outputs(
            bootstrap,
            {playpipe.name: playpipe.output, peer.name: peer.output},
            backlog.first_ts,
            backlog.last_ts - 20_000,
        )
        compared.show(f"playpipe and {peer.name} over the backlog")
    checked = compare.against_reference(
        bootstrap, source, playpipe.output, backlog.first_ts, backlog.last_ts - 20_000
    )
    checked.show("playpipe over the backlog against the same job in event-time order, no Kafka")
    for name in ("quixstreams", "kafkastreams"):
        if name in runs:
            print(f"{name} late pieces dropped: {_late(runs[name].log)}")
    state = _state_bytes(args.views, args.seed)
    _table(runs, backlog.open_views, state, engines)
    print(f"load average during the run: {min(load):.1f}-{max(load):.1f}")


def _late(log: Path) -> str:
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("late_pieces "):
            return line.split()[1]
    return "unknown"


def _state_bytes(views: int, seed: int) -> float:
    """playpipe's view state per open view (tracemalloc, ``pure.py``'s measure, 100k events)."""
    _held, view_state, open_views = memory_per_view(views, 100_000, 1000, seed)
    return view_state / open_views


def _table(runs: dict[str, Run], views: int, state: float, engines: list[Engine]) -> None:
    pp = runs["playpipe"]
    print()
    print(
        f"{'engine':<12} {'events/s':>10} {'ratio':>6} {'cores':>6} {'peak RSS':>9}"
        f" {'idle RSS':>9} {'RSS/view':>9} {'lag p50':>8} {'lag p99':>8} {'rows':>5}"
        f" {'from end p50/p99':>17}"
    )
    for engine in engines:
        r = runs[engine.name]
        ratio = pp.rate / r.rate if r.rate else float("nan")
        growth = (r.peak_rss - r.idle_rss) / max(1, views)
        print(
            f"{engine.name:<12} {r.rate:>10,.0f} {ratio:>6.2f} {r.cpu_s / r.seconds:>6.2f}"
            f" {r.peak_rss / 2**20:>7.0f}MB {r.idle_rss / 2**20:>7.0f}MB"
            f" {growth / 1024:>7.1f}KB {_pct(r.lags, 50):>7.2f}s {_pct(r.lags, 99):>7.2f}s"
            f" {len(r.lags):>5} {_pct(r.lag_from_end, 50):>7.2f}s/{_pct(r.lag_from_end, 99):.2f}s"
        )
    for name in ("quixstreams", "kafkastreams"):
        if name in runs:
            print(f"playpipe / {name}: {pp.rate / runs[name].rate:.1f}x")
    print(f"playpipe view state (tracemalloc, {views:,} open views): {state:,.0f} B per view")
    graces = ", ".join(f"{e.name} {e.grace_ms} ms" for e in engines)
    print(f"lag: from e + grace to the record's arrival (grace: {graces}); 'from end': from e")


def _create_topics(bootstrap: str, names: list[str]) -> None:
    """Topics shaped like ``<prefix>.events`` (Kafka Streams creates only its internal ones)."""
    from confluent_kafka.admin import NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    topics = [NewTopic(n, 6, 1, config={"compression.type": "lz4"}) for n in names]
    for future in admin.create_topics(topics, operation_timeout=30).values():
        future.result()


def _delete_topics(bootstrap: str, prefix: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = [t for t in admin.list_topics(timeout=10).topics if prefix in t]
    if names:
        for future in admin.delete_topics(names, operation_timeout=30).values():
            try:
                future.result()
            except Exception as exc:  # reported, not fatal: the figures are printed
                print(f"could not delete a topic: {exc}", file=sys.stderr)


if __name__ == "__main__":
    main()
