"""Connector CPU per event, stage by stage, in CPU time (steady on a shared, busy machine).

In one process, without Kafka:

1. the framework's per-event work on N prepared message values: JSON decode, the transform
   (timestamp choice), the ``Record`` and batching, as the runtime's hot loop does it;
2. each destination's ``write`` + ``flush`` of the same records in the batches the throughput
   run uses (5,000 events; 60,000 for Parquet, split into one file per partition):
   PostgreSQL (the client's CPU, and the server's from ``/proc``), Parquet (snappy, local
   folder), webhook (NDJSON to a receiver in this process, whose CPU is not counted);
3. next to each, its plain peer on the same rows measured the same way (bench/connectors/peers).

It prints µs of CPU per event and the events/s one core would sustain at that cost, for
playpipe and for the peer, with their ratio. What Kafka costs (fetching, decompressing,
committing) comes on top: ``bench/connectors/run.sh`` measures the whole path, in wall time.

    .venv/bin/python -m bench.connectors.cpu [--events 100000]
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import orjson
from bench.connectors.bench import LAKE_EVENTS, make_event
from bench.connectors.peers import parquet_peer, postgres_peer, webhook_peer
from bench.connectors.sinks import CountingReceiver

from playpipe.config import Config
from playpipe.connectors import settings as cs
from playpipe.connectors.base import Connector, Record
from playpipe.connectors.runtime import decode
from playpipe.connectors.transform import Transform

BATCH = 5000


def server_cpu(port: int) -> tuple[float, int]:
    """(CPU seconds used so far by the PostgreSQL server on ``port``, its live children): the
    postmaster, its live backends, and the backends that exited (reaped: counted in the
    postmaster's children times)."""
    total = children = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            own = _is_postmaster(pid, port)
            child = not own and _is_postmaster(fields[1], port)
        except OSError:
            continue
        if own:
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        elif child:
            total += int(fields[11]) + int(fields[12])
            children += 1
    return total / os.sysconf("SC_CLK_TCK"), children


def settled_server_cpu(port: int, children: int) -> float:
    """``server_cpu`` once the backends opened since (``children`` before) were reaped."""
    deadline = time.monotonic() + 30
    while True:
        used, now = server_cpu(port)
        if now <= children or time.monotonic() > deadline:
            return used
        time.sleep(0.1)


def _is_postmaster(pid: str, port: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"postgres" in cmdline and f"port={port}".encode() in cmdline


def framework(values: list[bytes]) -> tuple[float, list[Record]]:
    """CPU µs per event of decode + transform + Record, and the records."""
    transform = Transform(cs.WebhookSettings(name="cpu", url="http://127.0.0.1:1/"))
    records: list[Record] = []
    started = time.thread_time()
    for offset, value in enumerate(values):
        data = transform.apply(decode(value), 0, None)
        records.append(Record(data, value, None, "bench.events", offset % 6, offset, 0, []))
    return (time.thread_time() - started) * 1e6 / len(values), records


def destination(
    connector: Connector[Any], records: list[Record], pg_port: int = 0, batch: int = BATCH
) -> tuple[float, float]:
    """(client CPU µs per event, server CPU µs per event) of writing ``records``."""
    connector.setup()
    try:
        server = server_cpu(pg_port)[0] if pg_port else 0.0
        started = time.thread_time()
        for i in range(0, len(records), batch):
            connector.write(records[i : i + batch])
            connector.flush()
        client = time.thread_time() - started
        server = (server_cpu(pg_port)[0] - server) if pg_port else 0.0
    finally:
        connector.close()
    n = len(records)
    return client * 1e6 / n, server * 1e6 / n


def peer(
    run: Callable[[Callable[[], float]], float], n: int, pg_port: int = 0
) -> tuple[float, float]:
    """(client CPU µs per event, server CPU µs per event) of a peer."""
    server, children = server_cpu(pg_port) if pg_port else (0.0, 0)
    per_cpu_second = run(time.thread_time)
    if pg_port:  # the peer's backend has exited: its CPU counts once the server reaped it
        server = settled_server_cpu(pg_port, children) - server
    return 1e6 / per_cpu_second, server * 1e6 / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    n = args.events

    from tests.integration.connectors.pg import PostgresServer

    from playpipe.connectors.parquet import ParquetConnector
    from playpipe.connectors.postgres import PostgresConnector
    from playpipe.connectors.webhook import WebhookConnector

    gc.freeze()
    gc.set_threshold(50_000, 20, 10)  # as in a connector process
    config = msgspec.convert({}, Config)
    values = [orjson.dumps(make_event(i, "cpu")) for i in range(n)]
    base, records = framework(values)
    work = Path(tempfile.mkdtemp(prefix="playpipe-cpu-"))
    pg, peer_pg = PostgresServer(), PostgresServer()  # one each: their CPU apart
    pg.start()
    peer_pg.start()
    receiver = CountingReceiver().start()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    try:
        pg_settings = cs.PostgresSettings(name="pg", dsn=pg.dsn, table="cpu_events")
        rows: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
            "postgres": (
                destination(PostgresConnector(pg_settings, config), records, pg.port),
                peer(
                    lambda clock: postgres_peer(peer_pg.dsn, n, make_event, clock), n, peer_pg.port
                ),
            ),
            "parquet": (
                destination(
                    ParquetConnector(
                        cs.ParquetSettings(name="lake", path=str(work / "lake")), config
                    ),
                    records,
                    batch=LAKE_EVENTS,
                ),
                peer(
                    lambda clock: parquet_peer(work / "peer", n, make_event, clock, LAKE_EVENTS), n
                ),
            ),
            "webhook": (
                destination(
                    WebhookConnector(
                        cs.WebhookSettings(name="hook", url=receiver.url, format="ndjson"),
                        config,
                    ),
                    records,
                ),
                peer(lambda clock: webhook_peer(receiver, n, make_event, clock), n),
            ),
        }
    finally:
        receiver.stop()
        pg.stop()
        peer_pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nCPU per event, {n:,} events, batches of {BATCH:,} (µs; events/s one core sustains)")
    print(f"  framework (decode, transform, Record)   {base:6.2f} µs")
    for kind, ((client, server), (peer_client, peer_server)) in rows.items():
        ours = base + client + server
        theirs = peer_client + peer_server
        detail = f" + server {server:5.2f}" if server else ""
        peer_detail = f" + server {peer_server:5.2f}" if peer_server else ""
        print(
            f"  {kind:9s} playpipe {ours:6.2f} µs (framework + write {client:5.2f}{detail})"
            f" = {1e6 / ours:9,.0f}/s   peer {theirs:6.2f} µs ({peer_client:5.2f}{peer_detail})"
            f" = {1e6 / theirs:9,.0f}/s   ratio {theirs / ours:.2f}"
        )
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
