"""Destination specifics: per-item bulk errors, Amplitude rejections and throttling,
Datadog series from metric windows, PostgreSQL upserts of views and corrected windows."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import msgspec
import psycopg
import pyarrow.parquet as pq
import pytest

from playpipe.config import Config
from playpipe.connectors.dlq import parse_headers
from playpipe.connectors.settings import ConnectorConfig
from playpipe.kafka.topics import topic_name
from tests.integration.connectors.harness import (
    create_topic,
    make_events,
    produce,
    read_topic,
    running,
    wait_for,
)
from tests.integration.connectors.receivers import (
    AmplitudeLogic,
    DatadogLogic,
    ElasticsearchLogic,
    Receiver,
)

pytestmark = pytest.mark.kafka
FAST = {"max_events": 50, "max_age_ms": 100}


def settings(**table: object) -> ConnectorConfig:
    return msgspec.convert({"batch": FAST, **table}, ConnectorConfig)  # type: ignore[arg-type]


def test_bulk_dead_letters_only_the_failed_items(kafka_config: Config) -> None:
    create_topic(kafka_config)
    events = make_events(100)
    events[10]["custom"] = {"poison": True}
    events[10]["poison"] = True  # not a dictionary field: shows up in the document
    produce(kafka_config, events)
    logic = ElasticsearchLogic(reject_first=30)
    receiver = Receiver(logic).start()
    try:
        with running(kafka_config, settings(name="es", type="elasticsearch", url=receiver.url)):
            wait_for(lambda: len(logic.docs) >= 99, what="99 documents")
        dead = read_topic(kafka_config, topic_name(kafka_config, "dlq.es"), 1)
    finally:
        receiver.stop()
    assert len(logic.docs) == 99
    assert len(dead) == 1 and events[10]["event_id"].encode() in dead[0].value()
    assert "mapper_parsing_exception" in parse_headers(dead[0].headers())["playpipe.error.message"]


def test_amplitude_rejections_throttling_and_dedupe(kafka_config: Config) -> None:
    create_topic(kafka_config)
    events = make_events(120)
    events[5]["viewer_id"] = "abc"  # shorter than Amplitude's 5-character minimum
    produce(kafka_config, events)
    logic = AmplitudeLogic("k3y", throttle_first=2)
    receiver = Receiver(logic).start()
    try:
        table = {"name": "amp", "type": "amplitude", "api_key": "k3y", "url": receiver.url}
        with running(kafka_config, settings(**table)):
            wait_for(lambda: len(logic.events) >= 119, what="119 events")
        dead = read_topic(kafka_config, topic_name(kafka_config, "dlq.amp"), 1)
    finally:
        receiver.stop()
    assert set(logic.events) == {e["event_id"] for e in events} - {events[5]["event_id"]}
    assert (
        len(dead) == 1
        and "invalid_fields: device_id"
        in parse_headers(dead[0].headers())["playpipe.error.message"]
    )
    event = logic.events[events[0]["event_id"]]
    assert event["device_id"] == events[0]["viewer_id"] and event["os_name"] == "iOS"
    assert event["time"] == events[0]["event_ts"]


def windows(count: int) -> list[dict]:
    return [
        {
            "window": "10s",
            "window_start_ms": 1_732_579_200_000 + (i // 3) * 10_000,
            "window_end_ms": 1_732_579_200_000 + (i // 3 + 1) * 10_000,
            "size_ms": 10_000,
            "revision": 0,
            "dimensions": {"country": ["FR", "DE", "US"][i % 3]},
            "view_id": f"w{i}",
            "plays": i,
            "rebuffer_ratio": 0.01 * i,
        }
        for i in range(count)
    ]


def test_datadog_series_and_logs(kafka_config: Config) -> None:
    create_topic(kafka_config, "metrics.10s")
    create_topic(kafka_config)
    produce(kafka_config, windows(30), short="metrics.10s")
    produce(kafka_config, make_events(20))
    logic = DatadogLogic("dd")
    receiver = Receiver(logic).start()
    common = {"type": "datadog", "api_key": "dd", "api_url": receiver.url, "logs_url": receiver.url}
    try:
        metrics = settings(name="ddm", topic="metrics.10s", tags=["env:test"], **common)
        logs = settings(name="ddl", **common)
        with running(kafka_config, metrics), running(kafka_config, logs):
            wait_for(lambda: sum(len(s) for s in logic.series) >= 60, what="60 series")
            wait_for(lambda: sum(len(b) for b in logic.logs) >= 20, what="20 logs")
    finally:
        receiver.stop()
    series = [s for batch in logic.series for s in batch]
    assert {s["metric"] for s in series} == {"playpipe.qoe.plays", "playpipe.qoe.rebuffer_ratio"}
    assert all("env:test" in s["tags"] and s["interval"] == 10 for s in series)
    assert not logic.problems


def test_postgres_upserts_views_and_corrected_windows(
    kafka_config: Config, postgres_dsn: str
) -> None:
    create_topic(kafka_config, "metrics.10s")
    create_topic(kafka_config, "views")
    first = windows(6)
    corrected = [dict(w, plays=w["plays"] + 100, revision=1) for w in first[:3]]
    produce(kafka_config, first, short="metrics.10s")
    produce(kafka_config, corrected, short="metrics.10s")
    views = [{"view_id": f"v{i}", "state": "playing"} for i in range(5)]
    ended = {"view_id": "v0", "state": "ended"}
    produce(kafka_config, [*views, ended], short="views", extra=[None])  # and a tombstone
    metrics_table, views_table = f"m_{uuid.uuid4().hex[:8]}", f"v_{uuid.uuid4().hex[:8]}"
    common = {"type": "postgres", "dsn": postgres_dsn}
    with (
        running(
            kafka_config, settings(name="pgm", topic="metrics.10s", table=metrics_table, **common)
        ),
        running(kafka_config, settings(name="pgv", topic="views", table=views_table, **common)),
        psycopg.connect(postgres_dsn) as conn,
    ):

        def count(table: str) -> int:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            return int(row[0]) if row else 0

        wait_for(lambda: count(metrics_table) == 6 and count(views_table) == 5, what="rows")
        wait_for(
            lambda: (
                conn.execute(f"SELECT sum((record->>'plays')::int) FROM {metrics_table}").fetchone()
                == (0 + 1 + 2 + 300 + 3 + 4 + 5,)
            ),
            what="corrected windows",
        )
        state = conn.execute(f"SELECT record->>'state' FROM {views_table} WHERE view_id = 'v0'")
        assert state.fetchone() == ("ended",)
    assert read_topic(kafka_config, topic_name(kafka_config, "dlq.pgv"), 1, timeout=3) == []


def test_postgres_bad_rows_go_alone_to_the_dlq(kafka_config: Config, postgres_dsn: str) -> None:
    create_topic(kafka_config)
    events = make_events(50)
    events[3]["seq"] = "not-a-number"  # PostgreSQL refuses it for the bigint column
    produce(kafka_config, events)
    table = f"e_{uuid.uuid4().hex[:8]}"
    pg = settings(name="pgbad", type="postgres", dsn=postgres_dsn, table=table)
    with running(kafka_config, pg), psycopg.connect(postgres_dsn) as conn:
        wait_for(
            lambda: conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (49,),
            what="49 rows",
        )
    dead = read_topic(kafka_config, topic_name(kafka_config, "dlq.pgbad"), 1)
    assert len(dead) == 1 and events[3]["event_id"].encode() in dead[0].value()
    message = parse_headers(dead[0].headers())["playpipe.error.message"]
    assert "PostgreSQL rejected it" in message


def test_parquet_windows_keep_their_key_columns(kafka_config: Config, tmp_path: Path) -> None:
    create_topic(kafka_config, "metrics.10s")
    produce(kafka_config, windows(9), short="metrics.10s")
    lake = tmp_path / "lake"
    table = {"name": "pqm", "type": "parquet", "topic": "metrics.10s", "path": str(lake)}
    with running(kafka_config, settings(**table)):
        wait_for(lambda: sum(pq.read_metadata(f).num_rows for f in lake.rglob("*.parquet")) >= 9)
    rows = [r for f in sorted(lake.rglob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    assert len(rows) == 9
    assert {json.loads(r["dimensions"])["country"] for r in rows} == {"FR", "DE", "US"}
    assert all(r["window_size_ms"] == 10_000 and r["window_start"] is not None for r in rows)
    assert all(json.loads(r["record"])["window"] == "10s" for r in rows)
    assert {p.parent.name for p in lake.rglob("*.parquet")} == {"hour=00"}
