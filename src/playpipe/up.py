"""``playpipe up``: the whole pipeline on one machine, supervised, with a live status view."""

from __future__ import annotations

import re
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from confluent_kafka import Consumer, KafkaException, TopicPartition
from rich.console import Console
from rich.live import Live
from rich.table import Table

from playpipe.config import Config
from playpipe.connectors.app import group_id as connector_group
from playpipe.errors import KafkaUnavailableError
from playpipe.kafka.settings import consumer_config
from playpipe.kafka.topics import topic_name
from playpipe.supervisor import Component, Supervisor

# Records a component kept aside rather than processed: the collector's rejected beacons and
# the standardizer's unmappable ones (both on `<prefix>.beacons.invalid`), a connector's
# dead letters (`<prefix>.dlq.<name>`).
_DEAD_LETTER_SERIES = ("playpipe_rejected_events_total", "playpipe_invalid_events_total")
_SAMPLE = re.compile(r"^(playpipe_[a-z_]+)(?:\{([^}]*)\})? ([0-9.e+-]+)$")


@dataclass
class Watch:
    """What the status view shows for one component, and how to read it."""

    component: Component
    group: str | None = None
    input_topic: str | None = None
    last_received: float | None = None
    last_time: float = 0.0
    rate: float = 0.0
    errors: float = 0.0
    dead_lettered: float = 0.0
    lag: int | None = None
    counters: dict[str, float] = field(default_factory=dict)


def scrape(url: str) -> dict[str, float]:
    """Sum each playpipe metric over its labels (a component exposes its own series)."""
    totals: dict[str, float] = {}
    try:
        text = httpx.get(url, timeout=1.0).text
    except httpx.HTTPError:
        return totals
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and not match.group(1).endswith("_created"):
            totals[match.group(1)] = totals.get(match.group(1), 0.0) + float(match.group(3))
    return totals


class LagReader:
    """Consumer lag of a group: end offsets minus committed offsets, over all partitions."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._consumers: dict[str, Consumer] = {}

    def lag(self, group: str, topic: str) -> int | None:
        consumer = self._consumers.get(group)
        if consumer is None:
            consumer = Consumer(consumer_config(self.config.kafka, group))
            self._consumers[group] = consumer
        try:
            partitions = consumer.list_topics(topic, timeout=2).topics[topic].partitions
            tps = [TopicPartition(topic, p) for p in partitions]
            committed = consumer.committed(tps, timeout=2)
            total = 0
            for tp in committed:
                low, high = consumer.get_watermark_offsets(tp, timeout=2)
                total += high - (tp.offset if tp.offset >= 0 else low)
            return total
        except Exception:  # the view shows "-" rather than stopping the pipeline
            return None

    def close(self) -> None:
        for consumer in self._consumers.values():
            consumer.close()


def render(watches: list[Watch], title: str) -> Table:
    table = Table(title=title, caption="Ctrl-C stops everything cleanly", expand=False)
    for column in ("component", "state", "pid", "restarts", "events/s", "lag", "errors", "DLQ"):
        table.add_column(
            column, justify="right" if column not in ("component", "state") else "left"
        )
    colours = {"running": "green", "restarting": "yellow", "stopped": "red"}
    for w in watches:
        c = w.component
        table.add_row(
            c.name,
            f"[{colours[c.state]}]{c.state}[/]",
            str(c.proc.pid if c.running and c.proc else "-"),
            str(c.restarts),
            f"{w.rate:,.0f}",
            "-" if w.lag is None else f"{w.lag:,}",
            f"{w.errors:,.0f}",
            f"{w.dead_lettered:,.0f}",
        )
    return table


def refresh(watches: list[Watch], lags: LagReader) -> None:
    now = time.monotonic()
    for w in watches:
        if w.component.metrics_url and w.component.running:
            totals = scrape(w.component.metrics_url)
            received = totals.get("playpipe_received_events_total")
            if received is not None:
                if w.last_received is not None and now > w.last_time:
                    w.rate = max(0.0, (received - w.last_received) / (now - w.last_time))
                w.last_received, w.last_time = received, now
            w.errors = totals.get("playpipe_errors_total", 0.0)
            w.dead_lettered = sum(totals.get(name, 0.0) for name in _DEAD_LETTER_SERIES)
        elif not w.component.running:
            w.rate = 0.0
        if w.group and w.input_topic:
            w.lag = lags.lag(w.group, w.input_topic)


def await_partition_leaders(config: Config, topics: list[str], timeout: float = 60.0) -> None:
    """Return once every partition of ``topics`` answers an offsets request.

    Just-created topics are in the metadata a moment before their leaders serve requests;
    components started in that moment fail their first offsets lookup ("not leader").
    """
    consumer = Consumer(consumer_config(config.kafka, "playpipe-up-probe"))
    deadline = time.monotonic() + timeout
    try:
        waiting = [
            TopicPartition(topic, p)
            for topic in topics
            for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ]
        while waiting:
            still = []
            for tp in waiting:
                try:
                    consumer.get_watermark_offsets(tp, timeout=5)
                except KafkaException:
                    still.append(tp)
            waiting = still
            if waiting and time.monotonic() > deadline:
                names = ", ".join(f"{tp.topic}[{tp.partition}]" for tp in waiting[:5])
                raise KafkaUnavailableError(
                    f"Partitions without a leader {timeout:g} s after they were created: {names}"
                )
            if waiting:
                time.sleep(0.2)
    finally:
        consumer.close()


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Ports:
    """Metrics ports of the stages and connectors: consecutive from ``first``, or free ones (0)."""

    def __init__(self, first: int) -> None:
        self.next = first

    def take(self) -> int:
        if self.next == 0:
            return free_port()
        port, self.next = self.next, self.next + 1
        return port


def components_for(config: Config, metrics_ports: int = 9100) -> list[Watch]:
    """The components ``up`` runs for this configuration, in the order they stop.

    The collector stops first (what it acknowledged is then in Kafka or its spool), then
    every consumer at once. Stages and connectors serve ``/metrics`` on 127.0.0.1 at ports
    from ``metrics_ports`` (0: any free ports).
    """
    prefix = config.topics.prefix
    collector = config.collector
    api_host = "127.0.0.1" if config.api.host in ("0.0.0.0", "::") else config.api.host
    ports = _Ports(metrics_ports)

    def stage(name: str, command: str, group: str, topic: str) -> Watch:
        port = ports.take()
        return Watch(
            Component(
                name,
                [command, "--metrics-port", str(port)],
                metrics_url=f"http://127.0.0.1:{port}/metrics",
                stop_wave=1,
            ),
            group=group,
            input_topic=topic_name(config, topic),
        )

    watches = [
        Watch(
            Component(
                "collector",
                ["collect"],
                metrics_url=f"http://{collector.host}:{collector.port}/metrics",
            )
        ),
        stage("standardizer", "standardize", f"{prefix}-standardizer", "beacons.raw"),
        stage("aggregator", "aggregate", f"{prefix}-aggregator", "events"),
    ]
    for connector in config.connectors:
        port = ports.take()
        watches.append(
            Watch(
                Component(
                    f"connect {connector.name}",
                    ["connect", connector.name, "--metrics-port", str(port)],
                    metrics_url=f"http://127.0.0.1:{port}/metrics",
                    stop_wave=1,
                ),
                group=connector_group(config, connector.name),
                input_topic=topic_name(config, connector.topic),
            )
        )
    watches.append(
        Watch(
            Component(
                "api",
                ["api"],
                metrics_url=f"http://{api_host}:{config.api.port}/metrics",
                stop_wave=1,
            ),
            group=config.api.group_id or f"{prefix}-api",
            input_topic=topic_name(config, "views"),
        )
    )
    return watches


def _when_ready(config: Config, action: Callable[[], None]) -> None:
    url = f"http://{config.collector.host}:{config.collector.port}/healthz"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    action()


def run_up(
    config: Config,
    config_path: Path | None,
    console: Console,
    log_dir: Path,
    after_start: Callable[[], None] | None = None,
    metrics_ports: int = 9100,
    finished: threading.Event | None = None,
) -> None:
    """Start every component, show the live view until Ctrl-C/SIGTERM, then stop in order.

    ``after_start`` runs (in a thread) once the collector answers, e.g. the demo's viewers;
    setting ``finished`` stops everything as Ctrl-C would.
    """
    watches = components_for(config, metrics_ports)
    env = {"PLAYPIPE_KAFKA_BOOTSTRAP_SERVERS": config.kafka.bootstrap_servers}
    if config_path is not None:
        env["PLAYPIPE_CONFIG"] = str(config_path.resolve())
    if config.collector.open:
        env["PLAYPIPE_COLLECTOR_OPEN"] = "true"
    supervisor = Supervisor([w.component for w in watches], log_dir, env)
    lags = LagReader(config)
    done = finished or threading.Event()
    supervisor.start()
    if after_start is not None:
        threading.Thread(
            target=_when_ready, args=(config, after_start), name="after-start", daemon=True
        ).start()
    title = f"playpipe on {config.kafka.bootstrap_servers} — logs in {log_dir}"
    try:
        with Live(render(watches, title), console=console, refresh_per_second=2) as live:
            while not done.is_set():
                supervisor.check()
                refresh(watches, lags)
                live.update(render(watches, title))
                done.wait(1.0)
        console.print("Finished: stopping every component…")
    except KeyboardInterrupt:
        console.print("Stopping every component (each finishes and commits its work)…")
    finally:
        _ignore_more_interrupts()
        supervisor.stop()
        lags.close()
        console.print("All components stopped.")


def _ignore_more_interrupts() -> None:
    """A second Ctrl-C / SIGTERM while stopping must not abandon the children half-stopped."""
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
