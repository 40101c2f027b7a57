"""The PostgreSQL events path on a real server: typed COPY straight into the table, and the
staging-table fallback when a batch comes again (after a crash) or overlaps one loaded."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import psycopg

from playpipe.config import Config
from playpipe.connectors.base import Record
from playpipe.connectors.postgres import PostgresConnector
from playpipe.connectors.settings import PostgresSettings


def events(start: int, count: int) -> list[Record]:
    out = []
    for i in range(start, start + count):
        data: dict[str, Any] = {
            "event_id": f"ev-{i:05d}",
            "event_type": "view_end" if i % 2 else "heartbeat",
            "seq": i,
            "client_ts": 1_732_579_200_000 + i,
            "timestamp": 1_732_579_200_020 + i,
            "view_id": f"view\t{i % 3}",
            "skew_flagged": i % 2 == 0,
            "player": {"name": "hls.js", "version": "1.5"},
            "fluxdata": {"playhead_ms": i * 10, "bitrate_kbps": 1500.5},
        }
        if i % 2:
            data["reason"] = "ended"
        out.append(Record(data, b"", None, "pp.events", 0, i, 0))
    return out


def connector(dsn: str) -> tuple[PostgresConnector, str]:
    table = f"copy_{uuid.uuid4().hex[:8]}"
    settings = PostgresSettings(name="pgcopy", dsn=dsn, table=table)
    c = PostgresConnector(settings, msgspec.convert({}, Config))
    c.setup()
    return c, table


def test_typed_copy_writes_typed_columns(postgres_dsn: str) -> None:
    c, table = connector(postgres_dsn)
    try:
        assert c.write(events(0, 4)) is not None
        with psycopg.connect(postgres_dsn) as conn:
            row = conn.execute(
                f"SELECT event_type, seq, client_ts = to_timestamp(1732579200.001), view_id,"
                f" skew_flagged, player->>'name', (fluxdata->>'bitrate_kbps')::float8,"
                f" extra, _topic, _partition, _offset FROM {table} WHERE event_id = 'ev-00001'"
            ).fetchone()
        assert row == (
            "view_end",
            1,
            True,
            "view\t1",
            False,
            "hls.js",
            1500.5,
            {"reason": "ended"},
            "pp.events",
            0,
            1,
        )
    finally:
        c.close()


def test_a_batch_written_again_or_overlapping_adds_no_row(postgres_dsn: str) -> None:
    c, table = connector(postgres_dsn)
    try:
        c.write(events(0, 100))
        c.write(events(0, 100))  # redelivered after a crash: the COPY conflicts, staged path
        result = c.write(events(50, 100))  # half of it is there already
        assert result is not None and result.failed == []
        with psycopg.connect(postgres_dsn) as conn:
            count, distinct = conn.execute(
                f"SELECT count(*), count(DISTINCT event_id) FROM {table}"
            ).fetchone() or (0, 0)
        assert (count, distinct) == (150, 150)
    finally:
        c.close()


def test_a_record_postgresql_refuses_fails_alone(postgres_dsn: str) -> None:
    c, table = connector(postgres_dsn)
    try:
        batch = events(0, 10)
        batch[4].data["seq"] = "not a number"
        batch[6].data["event_ts"] = 10**20  # not a time: refused before PostgreSQL sees it
        result = c.write(batch)
        assert result is not None
        assert sorted(r.offset for r, _ in result.failed) == [4, 6]
        with psycopg.connect(postgres_dsn) as conn:
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (8,)
    finally:
        c.close()
