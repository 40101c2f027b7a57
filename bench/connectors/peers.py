"""Plain loaders of the same rows, without Kafka or playpipe: the benchmark's peers.

Each returns rows per second of ``clock`` (wall time by default; ``time.thread_time`` for
CPU time of the calling thread).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
from psycopg.types.json import Jsonb

BATCH = 5000
MakeEvent = Callable[..., dict[str, Any]]


def _batches(
    count: int, make_event: MakeEvent, tag: str, batch: int = BATCH
) -> list[list[dict[str, Any]]]:
    events = [make_event(i, tag) for i in range(count)]
    return [events[i : i + batch] for i in range(0, count, batch)]


def postgres_peer(
    dsn: str, count: int, make_event: MakeEvent, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Rows/s of a bare psycopg binary ``COPY`` of typed columns plus the JSON document
    (no deduplication), one COPY per batch."""
    batches = _batches(count, make_event, "pp")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS peer_events (event_id text PRIMARY KEY, event_type text,"
            " view_id text, viewer_id text, seq bigint, client_ts timestamptz, doc jsonb)"
        )
        copy_sql = "COPY peer_events FROM STDIN (FORMAT BINARY)"
        types = ["text", "text", "text", "text", "int8", "timestamptz", "jsonb"]
        started = clock()
        for batch in batches:
            with conn.cursor() as cur, cur.copy(copy_sql) as copy:
                copy.set_types(types)
                for e in batch:
                    copy.write_row(
                        (
                            e["event_id"],
                            e["event_type"],
                            e["view_id"],
                            e["viewer_id"],
                            e["seq"],
                            dt.datetime.fromtimestamp(e["client_ts"] / 1000, dt.UTC),
                            Jsonb(e),
                        )
                    )
        return count / (clock() - started)


def parquet_peer(
    folder: Path,
    count: int,
    make_event: MakeEvent,
    clock: Callable[[], float] = time.perf_counter,
    batch: int = BATCH,
) -> float:
    """Rows/s of pyarrow writing the same batches (schema inferred), one file each."""
    batches = _batches(count, make_event, "pq", batch)
    folder.mkdir(parents=True, exist_ok=True)
    started = clock()
    for index, batch in enumerate(batches):
        pq.write_table(
            pa.Table.from_pylist(batch), folder / f"{index}.parquet", compression="snappy"
        )
    return count / (clock() - started)


def webhook_peer(
    receiver: Any, count: int, make_event: MakeEvent, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Events/s of an httpx loop posting the same batches as NDJSON to the same receiver."""
    batches = _batches(count, make_event, "wh")
    headers = {"Content-Type": "application/x-ndjson"}
    with httpx.Client() as client:
        started = clock()
        for batch in batches:
            body = b"".join(orjson.dumps(e) + b"\n" for e in batch)
            client.post(receiver.url, content=body, headers=headers).raise_for_status()
        return count / (clock() - started)
