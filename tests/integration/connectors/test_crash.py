"""kill -9 of ``playpipe connect`` mid-batch, then a restart: no loss, no duplicate.

PostgreSQL ends with exactly one row per event (the staged insert ignores event ids it
already has); the Parquet folder holds each event exactly once (a replayed batch replaces
the files the killed run wrote for it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest

from playpipe.config import Config
from tests.integration.connectors.harness import create_topic, make_events, produce, wait_for

pytestmark = pytest.mark.kafka
EVENTS = 30_000


def write_config(path: Path, config: Config, dsn: str, table: str, lake: Path) -> None:
    batch = "[connectors.batch]\nmax_events = 1000\nmax_age_ms = 200\n"
    path.write_text(
        f'[kafka]\nbootstrap_servers = "{config.kafka.bootstrap_servers}"\n'
        f'[topics]\nprefix = "{config.topics.prefix}"\npartitions = 3\n\n'
        f'[[connectors]]\nname = "pg"\ntype = "postgres"\ndsn = "{dsn}"\n'
        f'table = "{table}"\n{batch}\n'
        f'[[connectors]]\nname = "lake"\ntype = "parquet"\npath = "{lake}"\n{batch}'
    )


def start(name: str, config_file: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYPIPE_")}
    env["PLAYPIPE_CONFIG"] = str(config_file)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "playpipe", "connect", name],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def pg_count(dsn: str, table: str, distinct: bool = False) -> int:
    what = "count(DISTINCT event_id)" if distinct else "count(*)"
    try:
        with psycopg.connect(dsn) as conn:
            row = conn.execute(f"SELECT {what} FROM {table}").fetchone()
    except psycopg.errors.UndefinedTable:
        return 0
    return int(row[0]) if row else 0


def lake_ids(lake: Path) -> list[str]:
    files = sorted(lake.rglob("*.parquet"))
    return [i for f in files for i in pq.read_table(f, columns=["event_id"]).column(0).to_pylist()]


@pytest.mark.timeout(400)
def test_kill_9_mid_batch_then_restart(
    kafka_config: Config, postgres_dsn: str, tmp_path: Path
) -> None:
    create_topic(kafka_config)
    events = make_events(EVENTS, views=300)
    produce(kafka_config, events)
    table, lake = f"crash_{uuid.uuid4().hex[:8]}", tmp_path / "lake"
    config_file, log = tmp_path / "playpipe.toml", tmp_path / "connect.log"
    write_config(config_file, kafka_config, postgres_dsn, table, lake)

    first = [start("pg", config_file, log), start("lake", config_file, log)]
    try:
        wait_for(
            lambda: pg_count(postgres_dsn, table) >= 5_000 and len(lake_ids(lake)) >= 5_000,
            timeout=180,
            what=f"a first part delivered; log: {log}",
        )
    finally:
        for process in first:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    assert pg_count(postgres_dsn, table) < EVENTS or len(lake_ids(lake)) < EVENTS, "too late"

    second = [start("pg", config_file, log), start("lake", config_file, log)]
    try:
        wait_for(
            lambda: pg_count(postgres_dsn, table) >= EVENTS and len(set(lake_ids(lake))) >= EVENTS,
            timeout=240,
            what=f"every event after the restart; log: {log}",
        )
    finally:
        for process in second:
            os.killpg(process.pid, signal.SIGTERM)
        codes = [process.wait(60) for process in second]
    assert codes == [0, 0], log.read_text()[-3000:]
    assert pg_count(postgres_dsn, table) == EVENTS == pg_count(postgres_dsn, table, True)
    ids = lake_ids(lake)
    assert len(ids) == EVENTS and set(ids) == {e["event_id"] for e in events}
