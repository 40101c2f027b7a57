"""The ``playpipe`` command.

Every sub-command reads one configuration (``--config`` / ``PLAYPIPE_CONFIG`` /
``./playpipe.toml``, overridden by ``PLAYPIPE_…`` variables); errors end with one paragraph
that names the problem and the fix, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from playpipe import config as config_module
from playpipe import log
from playpipe.config import Config
from playpipe.errors import ConfigError, PlaypipeError

if TYPE_CHECKING:
    from playpipe.kafka.local import LocalCluster

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="playpipe",
    help=(
        "Real-time video telemetry on Apache Kafka.\n\n"
        "Start a local Kafka with `playpipe kafka start`, create the topics with "
        "`playpipe topics apply`, then run the stages."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
kafka_app = typer.Typer(
    help="Run Apache Kafka locally (KRaft, 1 or 3 nodes) from the official jars.",
    no_args_is_help=True,
)
topics_app = typer.Typer(
    help="Create or update playpipe's topics from the configuration.", no_args_is_help=True
)
config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)
schema_app = typer.Typer(help="The data dictionary's JSON Schema.", no_args_is_help=True)
app.add_typer(kafka_app, name="kafka")
app.add_typer(schema_app, name="schema")
app.add_typer(topics_app, name="topics")
app.add_typer(config_app, name="config")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Configuration file (default: $PLAYPIPE_CONFIG or ./playpipe.toml).",
        show_default=False,
    ),
]
BootstrapOption = Annotated[
    str | None,
    typer.Option(
        "--bootstrap-servers",
        "-b",
        help="Kafka to use, host:port[,host:port] (default: from the config, 127.0.0.1:9092).",
        show_default=False,
    ),
]


class _State:
    config_path: Path | None = None


_state = _State()


@app.callback()
def _main(config: ConfigOption = None) -> None:
    _state.config_path = config
    log.configure()


def load_config(bootstrap_servers: str | None = None) -> Config:
    """The configuration, with ``--bootstrap-servers`` applied on top."""
    cfg = config_module.load(_state.config_path)
    if bootstrap_servers:
        cfg.kafka.bootstrap_servers = bootstrap_servers
    return cfg


# -- kafka ---------------------------------------------------------------------------------
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Folder of the local cluster (default: local.data_dir, .playpipe/kafka).",
        show_default=False,
    ),
]


def _cluster(data_dir: Path | None) -> LocalCluster:
    from playpipe.kafka.local import LocalCluster

    return LocalCluster(load_config().local, data_dir)


@kafka_app.command("start")
def kafka_start(
    nodes: Annotated[
        int | None,
        typer.Option(
            help="1 for development, 3 for a replicated quorum (RF=3, min ISR 2).",
            show_default="local.nodes, 1",
        ),
    ] = None,
    data_dir: DataDirOption = None,
    port_base: Annotated[
        int | None,
        typer.Option(
            help="Client port of node 1; nodes take consecutive ports, controllers the ones after.",
            show_default="local.port_base, 9092",
        ),
    ] = None,
) -> None:
    """Start a local Apache Kafka and wait until it answers; prints the bootstrap servers.

    Runs in the background. Starting it again while it runs does nothing.
    """
    from playpipe.kafka.jars import jar_dir, jars_present, kafka_version

    cluster = _cluster(data_dir)
    if cluster.running():
        console.print(
            f"Kafka is already running from {cluster.root}: [bold]{cluster.bootstrap_servers}[/]"
        )
        return
    cfg_local = load_config().local
    if not jars_present(jar_dir(cfg_local.jar_dir)):
        console.print(f"Fetching Apache Kafka {kafka_version()} jars with Maven (first run only)…")
    count = nodes or cfg_local.nodes
    with console.status(f"Starting {count} Kafka node(s) in {cluster.root}…"):
        import time

        started = time.monotonic()
        servers = cluster.start(nodes=count, port_base=port_base)
    console.print(
        f"Kafka is up in {time.monotonic() - started:.1f} s. Bootstrap servers: [bold]{servers}[/]"
    )


@kafka_app.command("stop")
def kafka_stop(data_dir: DataDirOption = None) -> None:
    """Stop the local Kafka cleanly (SIGTERM: controlled shutdown), keeping its data."""
    cluster = _cluster(data_dir)
    if not cluster.running():
        console.print(f"No local Kafka is running from {cluster.root}.")
        return
    with console.status("Stopping Kafka (controlled shutdown)…"):
        stopped = cluster.stop()
    console.print(f"Stopped node(s) {', '.join(map(str, stopped))}.")


@kafka_app.command("status")
def kafka_status(data_dir: DataDirOption = None) -> None:
    """Show each node (up/down, controller), the topics and under-replicated partitions."""
    cluster = _cluster(data_dir)
    if not cluster.nodes:
        console.print(
            f"No local Kafka has been started from {cluster.root}. Run `playpipe kafka start`."
        )
        raise typer.Exit(1)
    nodes = Table(title=f"Local Kafka in {cluster.root}")
    for column in ("node", "address", "state", "role", "pid"):
        nodes.add_column(column)
    statuses = cluster.status()
    for s in statuses:
        nodes.add_row(
            str(s.id),
            s.address,
            "[green]up[/]" if s.up else "[red]down[/]",
            "controller (leader)" if s.controller else "broker+controller",
            str(s.pid or "-"),
        )
    console.print(nodes)
    if not any(s.up for s in statuses):
        raise typer.Exit(1)
    _print_topics(cluster.bootstrap_servers)


def _print_topics(bootstrap_servers: str) -> None:
    from playpipe.kafka.admin import connect

    cfg = load_config(bootstrap_servers)
    cfg.kafka.timeout_s = min(cfg.kafka.timeout_s, 5.0)
    metadata = connect(cfg.kafka).metadata
    table = Table(title="Topics")
    for column in ("topic", "partitions", "replicas", "under-replicated"):
        table.add_column(column)
    total_under = 0
    for name in sorted(t for t in metadata.topics if not t.startswith("__")):
        parts = metadata.topics[name].partitions.values()
        under = sum(1 for p in parts if len(p.isrs) < len(p.replicas))
        total_under += under
        rf = max((len(p.replicas) for p in parts), default=0)
        table.add_row(name, str(len(parts)), str(rf), f"[red]{under}[/]" if under else "0")
    console.print(table)
    console.print(f"Under-replicated partitions: {total_under}")


@kafka_app.command("fetch")
def kafka_fetch() -> None:
    """Resolve the pinned Apache Kafka jars with Maven into the cache (done by `start` too)."""
    from playpipe.kafka.jars import fetch_jars, kafka_version

    with console.status(f"Resolving Apache Kafka {kafka_version()} with Maven…"):
        path = fetch_jars(load_config().local.jar_dir, quiet=True)
    console.print(f"Apache Kafka {kafka_version()} jars are in {path}")


# -- topics --------------------------------------------------------------------------------
@topics_app.command("apply")
def topics_apply(
    bootstrap_servers: BootstrapOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the changes without making them.")
    ] = False,
) -> None:
    """Create missing topics, add partitions and set configs; prints what changed.

    Besides the pipeline's topics, each configured connector gets its dead-letter topic
    `<prefix>.dlq.<name>`. Idempotent: a second run changes nothing. Never shrinks
    partitions or changes the replication factor of an existing topic (it says so instead).
    """
    from playpipe.kafka.topics import apply_topics

    cfg = load_config(bootstrap_servers)
    plan = apply_topics(cfg, [c.name for c in cfg.connectors], dry_run=dry_run)
    table = Table(
        title=("Planned" if dry_run else "Applied") + f" topics on {cfg.kafka.bootstrap_servers}"
    )
    for column in ("topic", "action", "details"):
        table.add_column(column)
    colours = {"create": "green", "update": "yellow", "refused": "red", "unchanged": "dim"}
    for change in plan.changes:
        table.add_row(
            change.topic, f"[{colours[change.action]}]{change.action}[/]", "; ".join(change.details)
        )
    console.print(table)
    if not plan.changed:
        console.print("No changes.")


# -- config --------------------------------------------------------------------------------
@config_app.command("show")
def config_show() -> None:
    """Print the effective configuration as TOML-like JSON (secrets masked)."""
    import json

    console.print_json(json.dumps(config_module.dump(load_config())))


# -- collector -----------------------------------------------------------------------------
@app.command("collect")
def collect(
    bootstrap_servers: BootstrapOption = None,
    host: Annotated[
        str | None,
        typer.Option(help="Address to listen on.", show_default="collector.host, 127.0.0.1"),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on.", show_default="collector.port, 8080")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes (one Kafka producer and spool each).",
            show_default="collector.workers, 1",
        ),
    ] = None,
    open_mode: Annotated[
        bool, typer.Option("--open", help="Accept any property key (local use only).")
    ] = False,
) -> None:
    """Run the HTTP beacon collector: `POST /v1/events`, `/healthz`, `/readyz`, `/metrics`.

    Accepted events go to `<prefix>.beacons.raw` keyed by view id, rejected ones to
    `<prefix>.beacons.invalid` with the reason. A batch is answered 202 only once Kafka
    acknowledged it or it is fsynced to the local spool. Stops cleanly on Ctrl-C / SIGTERM.
    """
    from playpipe.collector.service import serve

    cfg = load_config(bootstrap_servers)
    if host is not None:
        cfg.collector.host = host
    if port is not None:
        cfg.collector.port = port
    if workers is not None:
        cfg.collector.workers = workers
    if open_mode:
        cfg.collector.open = True
    if not cfg.collector.open and not cfg.collector.property_keys:
        raise ConfigError(
            "The collector accepts no property key: set `collector.property_keys` "
            '(e.g. property_keys = ["my-site"]) or run with --open for local use.'
        )
    serve(cfg)


# -- the whole pipeline ----------------------------------------------------------------------
def _ensure_kafka(cfg: Config, bootstrap_servers: str | None) -> None:
    """Start the local Kafka unless a cluster was named; then apply the topics."""
    from playpipe.kafka.topics import apply_topics

    if not bootstrap_servers:
        from playpipe.kafka.local import LocalCluster

        cluster = LocalCluster(cfg.local)
        with console.status(f"Starting the local Apache Kafka in {cluster.root}…"):
            cfg.kafka.bootstrap_servers = cluster.start()
        console.print(f"Kafka: [bold]{cfg.kafka.bootstrap_servers}[/] (local, {cluster.root})")
    from playpipe.up import await_partition_leaders

    plan = apply_topics(cfg, [c.name for c in cfg.connectors])
    created = [c.topic for c in plan.changes if c.action == "create"]
    if created:
        with console.status("Waiting for the new topics' partition leaders…"):
            await_partition_leaders(cfg, created)
    console.print(f"Topics: {len(plan.changes)} in place ({len(created)} created).")


MetricsPortsOption = Annotated[
    int,
    typer.Option(
        "--metrics-ports",
        help="First of the consecutive 127.0.0.1 ports where the stream stages and connectors "
        "serve /metrics (0: any free ports).",
    ),
]


@app.command("up")
def up(
    bootstrap_servers: BootstrapOption = None,
    open_mode: Annotated[
        bool, typer.Option("--open", help="Collector accepts any property key (local use).")
    ] = False,
    metrics_ports: MetricsPortsOption = 9100,
) -> None:
    """Run the whole pipeline locally: Kafka, collector, stream stages, connectors, API.

    Starts a local Apache Kafka unless `--bootstrap-servers` is given, applies the topics,
    then runs every component as a supervised process (restarted with back-off if it
    crashes): the collector, the standardizer, the aggregator, one `playpipe connect NAME`
    per `[[connectors]]` table and the API. Shows their state, events/s, consumer lag,
    errors and dead-lettered records live. Ctrl-C or SIGTERM stops everything in order (the
    collector first, then every consumer, each committing what it finished), losing
    nothing. Logs: `.playpipe/logs/`.
    """
    import signal as signals

    from playpipe.up import run_up

    cfg = load_config(bootstrap_servers)
    if open_mode:
        cfg.collector.open = True
    if not cfg.collector.open and not cfg.collector.property_keys:
        raise ConfigError(
            "The collector accepts no property key: set `collector.property_keys` or pass --open."
        )
    _ensure_kafka(cfg, bootstrap_servers)

    def _interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signals.signal(signals.SIGTERM, _interrupt)
    signals.signal(signals.SIGHUP, _interrupt)  # the terminal closed: stop cleanly too
    run_up(cfg, _state.config_path, console, Path(".playpipe/logs"), metrics_ports=metrics_ports)


@app.command("demo")
def demo(
    viewers: Annotated[int, typer.Option(help="Simulated viewers watching at once.")] = 300,
    degrade: Annotated[
        str, typer.Option(help="CDN@SECONDS that degrades part-way, so the charts have a story.")
    ] = "fastly@240",
    seed: Annotated[int, typer.Option(help="Random seed of the simulated audience.")] = 1,
    duration: Annotated[
        float,
        typer.Option(
            help="Seconds the viewers play; then everything stops cleanly (0: until Ctrl-C)."
        ),
    ] = 0.0,
    bootstrap_servers: BootstrapOption = None,
    metrics_ports: MetricsPortsOption = 9100,
) -> None:
    """`playpipe up` plus simulated viewers in real time: open the dashboard and watch.

    Starts a local Kafka (unless `--bootstrap-servers` is given) and every component, then
    plays a few hundred simulated viewers against the collector (devices, countries, CDNs,
    ads, rebuffers, failures); one CDN degrades part-way. Ctrl-C stops everything cleanly.
    A short run: `playpipe demo --viewers 50 --degrade fastly@30 --duration 120`.
    """
    import signal as signals
    import threading

    from playpipe.simulate import DegradeSpec, SimOptions, run_simulation
    from playpipe.up import run_up

    # Failures are rare in a real audience: a few minutes of a few hundred viewers would show
    # none, so the demo's viewers fail more often (start failures about 2 %, playback
    # failures about one per viewer-hour).
    audience = SimOptions(start_failure_scale=3.0, playback_failure_scale=20.0)
    if viewers < 1:
        raise ConfigError(f"--viewers must be 1 or more, got {viewers}.")
    if duration < 0:
        raise ConfigError(f"--duration must be 0 (until Ctrl-C) or more seconds, got {duration}.")
    cfg = load_config(bootstrap_servers)
    cfg.collector.open = True
    try:
        spec = DegradeSpec.parse(degrade)
    except ValueError as exc:
        raise ConfigError(f"--degrade: {exc}") from None
    _ensure_kafka(cfg, bootstrap_servers)
    url = f"http://{cfg.collector.host}:{cfg.collector.port}"
    console.print(f"Dashboard: [bold]http://{cfg.api.host}:{cfg.api.port}/[/]  ·  collector: {url}")

    finished = threading.Event()

    def viewers_play() -> None:
        try:
            run_simulation(
                url,
                viewers,
                duration or 24 * 3600,
                1.0,
                seed,
                None,
                degrade=spec,
                progress=False,
                options=audience,
            )
        finally:
            if duration:
                finished.set()

    def _interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signals.signal(signals.SIGTERM, _interrupt)
    signals.signal(signals.SIGHUP, _interrupt)
    run_up(
        cfg,
        _state.config_path,
        console,
        Path(".playpipe/logs"),
        after_start=viewers_play,
        metrics_ports=metrics_ports,
        finished=finished,
    )


# -- stream stages ---------------------------------------------------------------------------
MetricsPortOption = Annotated[
    int,
    typer.Option(
        "--metrics-port", help="Serve Prometheus /metrics on this port of 127.0.0.1 (0: off)."
    ),
]


@app.command("standardize")
def standardize(
    bootstrap_servers: BootstrapOption = None, metrics_port: MetricsPortOption = 0
) -> None:
    """Map raw beacons to dictionary events: `<prefix>.beacons.raw` to `<prefix>.events`.

    Drops duplicate event ids per view, orders each view's events by `seq`, sends what
    cannot be mapped to `<prefix>.beacons.invalid` with the reason. Run several copies to
    share the partitions. At-least-once; stops cleanly on Ctrl-C / SIGTERM.
    """
    from playpipe.streams.standardizer import run_standardizer
    from playpipe.telemetry import serve_metrics

    serve_metrics(metrics_port)
    run_standardizer(load_config(bootstrap_servers))


# -- query API and dashboard -------------------------------------------------------------
@app.command("api")
def api(
    bootstrap_servers: BootstrapOption = None,
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to listen on; anything but loopback requires `api.tokens`.",
            show_default="api.host, 127.0.0.1",
        ),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on.", show_default="api.port, 8088")
    ] = None,
) -> None:
    """Serve the query API and the live dashboard (open http://127.0.0.1:8088/).

    Reads `<prefix>.metrics.*` and `<prefix>.views` into an embedded store (DuckDB, in
    `api.data_dir`, default `.playpipe/store`) and answers `/v1/metrics`, `/v1/views`,
    `/v1/views/{id}`, `/v1/dimensions/{name}`, `/v1/errors`, `/v1/live` (server-sent
    events), `/healthz` and `/metrics`. See docs/api.md. Stops cleanly on Ctrl-C / SIGTERM.
    """
    from playpipe.api.service import serve

    cfg = load_config(bootstrap_servers)
    if host is not None:
        cfg.api.host = host
    if port is not None:
        cfg.api.port = port
    serve(cfg)


# -- connectors ------------------------------------------------------------------------------
dlq_app = typer.Typer(
    help="Inspect and replay a connector's dead-letter topic `<prefix>.dlq.<name>`.",
    no_args_is_help=True,
)
app.add_typer(dlq_app, name="dlq")


@app.command("connect")
def connect(
    name: Annotated[str, typer.Argument(help="The `name` of a [[connectors]] table.")],
    bootstrap_servers: BootstrapOption = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            help="Serve /metrics, /healthz and /readyz on this port of 127.0.0.1 (0: off).",
            show_default="the connector's metrics_port, 0",
        ),
    ] = None,
) -> None:
    """Run one connector: deliver a topic to its destination, at least once.

    Reads `<prefix>.<topic>` in the consumer group `<prefix>-connector-<name>`, applies the
    connector's `filter`, `sample` and `fields`, sends batches to the destination and
    commits offsets only after it acknowledged them. Retries transient failures with
    backoff, pauses on backpressure, and sends what cannot be delivered to
    `<prefix>.dlq.<name>` with the reason in headers. Checks the settings and the
    destination (healthcheck) before reading anything. Example `playpipe.toml`:

        [[connectors]]
        name = "hooks"
        type = "webhook"
        url = "https://example.com/playpipe"
        filter = 'event_type in ["error", "view_end"]'

    Run one process per connector; stops cleanly on Ctrl-C / SIGTERM.
    """
    from playpipe.connectors import check_file, run_connector
    from playpipe.connectors.validate import find

    check_file(_state.config_path)
    cfg = load_config(bootstrap_servers)
    if metrics_port is not None:
        find(cfg.connectors, name).metrics_port = metrics_port
    run_connector(cfg, name)


@dlq_app.command("replay")
def dlq_replay(
    name: Annotated[str, typer.Argument(help="The connector whose dead letters to replay.")],
    bootstrap_servers: BootstrapOption = None,
) -> None:
    """Send the records of `<prefix>.dlq.<name>` through the connector again.

    Fix the cause first (a schema, a credential, the destination). Reads the dead-letter
    topic up to its current end, writes each batch once through the connector (same
    filter and fields), and commits as it goes, so running it twice never resends a
    record. A record that fails again is put back at the end of the topic with its
    attempt count plus one.
    """
    from playpipe.connectors import check_file, replay_dlq

    check_file(_state.config_path)
    report = replay_dlq(load_config(bootstrap_servers), name)
    console.print(
        f"Replayed {report.read} dead-lettered record(s) of `{name}`: "
        f"{report.delivered} delivered, {report.failed_again} failed again (back in the "
        f"dead-letter topic), {report.dropped} left out by the filter or sampling."
    )


@app.command("replay")
def replay(
    since: Annotated[
        str,
        typer.Option(help="From this time: epoch ms, ISO 8601 with zone, or 90m / 2h / 1d ago."),
    ],
    from_raw: Annotated[
        bool, typer.Option("--from-raw", help="Map the raw beacon topic again (required).")
    ] = False,
    until: Annotated[
        str | None, typer.Option(help="Up to this time (default: the topic's end now).")
    ] = None,
    bootstrap_servers: BootstrapOption = None,
) -> None:
    """Map `<prefix>.beacons.raw` since a time again, with the current mappings, into events.

    Events keep their ids (derived from the beacons), so what was already mapped is dropped
    downstream as a copy; see docs/sources.md.
    """
    from playpipe.streams.replay_raw import parse_time, replay_raw

    if not from_raw:
        raise typer.BadParameter("only --from-raw is supported: add --from-raw")
    report = replay_raw(
        load_config(bootstrap_servers),
        parse_time(since),
        parse_time(until) if until is not None else None,
    )
    bad = ", ".join(f"{n}x {reason}" for reason, n in report.unmappable.most_common(5))
    console.print(
        f"Replayed {report.read} raw record(s) into {report.events} event(s); "
        f"{sum(report.unmappable.values())} still unmappable{': ' + bad if bad else ''}."
    )


@app.command("aggregate")
def aggregate(
    bootstrap_servers: BootstrapOption = None,
    metrics_port: MetricsPortOption = 0,
    idle_speed: Annotated[
        float,
        typer.Option(
            help="When no events arrive, event time moves on this many times faster than the "
            "wall clock, so windows and silent views still close (replays and tests: > 1).",
        ),
    ] = 1.0,
) -> None:
    """Sessionize views and compute windowed QoE: `<prefix>.events` to views and metrics.

    Emits one record per view to `<prefix>.views` when it ends or times out, and the window
    metrics of every dimension set (`[streams] dimension_sets`) to `<prefix>.metrics.<window>`
    when a window closes (corrected, with a higher `revision`, if late data arrives within
    `late_grace_ms`). State is checkpointed to Kafka: a restart resumes where it stopped.
    Run several copies to share the partitions. Stops cleanly on Ctrl-C / SIGTERM.
    """
    from playpipe.streams.aggregator import run_aggregator
    from playpipe.telemetry import serve_metrics

    cfg = load_config(bootstrap_servers)
    serve_metrics(metrics_port)
    run_aggregator(cfg, cfg.streams, idle_speed=idle_speed)


# -- simulator -------------------------------------------------------------------------------
@app.command("simulate")
def simulate(
    collector: Annotated[str, typer.Option(help="Collector base URL.")] = "http://127.0.0.1:8080",
    viewers: Annotated[int, typer.Option(help="Viewers watching at once (viewer slots).")] = 200,
    duration: Annotated[float, typer.Option(help="Seconds of simulated time.")] = 600.0,
    time_scale: Annotated[
        float, typer.Option(help="Simulated seconds per real second (1 = real time).")
    ] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed plays the same views.")] = 1,
    truth: Annotated[
        Path | None,
        typer.Option(
            help="Write the true view records here (JSONL), windows and timelines beside it."
        ),
    ] = None,
    key: Annotated[str, typer.Option(help="Property key sent with every batch.")] = "demo",
    lost: Annotated[
        float, typer.Option(help="Share of batches deliberately never sent (0..1).")
    ] = 0.0,
    duplicates: Annotated[float, typer.Option(help="Share of batches sent twice (0..1).")] = 0.02,
    degrade: Annotated[
        str | None,
        typer.Option(help="CDN@SECONDS: that CDN gets much worse from then on, e.g. fastly@300."),
    ] = None,
) -> None:
    """Play simulated viewers against a collector, knowing the true QoE of every view.

    Realistic devices, countries, ISPs, CDNs with their own quality, content, ABR, startup,
    rebuffers, seeks, pauses, ads, failures and abandoned views; batches with jitter,
    out-of-order arrival, duplicates and optional loss. With `--truth`, the ground truth
    of every view and window is written for comparison with the pipeline's output.
    """
    from playpipe.simulate import DegradeSpec, run_simulation

    try:
        spec = DegradeSpec.parse(degrade) if degrade else None
    except ValueError as exc:
        raise ConfigError(f"--degrade: {exc}") from None
    summary = run_simulation(
        collector,
        viewers,
        duration,
        time_scale,
        seed,
        truth,
        property_key=key,
        lost_batch_share=lost,
        duplicate_share=duplicates,
        degrade=spec,
    )
    if not summary.complete:
        raise typer.Exit(1)


# -- schema --------------------------------------------------------------------------------
@schema_app.command("export")
def schema_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Write the JSON Schema (draft 2020-12) of every dictionary event.

    Validate beacons in other systems with it, or generate types from it.
    """
    from playpipe.dictionary import json_schema_text

    text = json_schema_text()
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        output.write_text(text if text.endswith("\n") else text + "\n")
        console.print(f"Wrote the dictionary's JSON Schema to {output}")


def main() -> None:
    """Entry point: run the app, turning playpipe's errors into one clear paragraph."""
    try:
        app()
    except PlaypipeError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
