"""``playpipe up`` as a user runs it: the default ``playpipe.toml``, SIGTERM, a restart.

Phase 1 posts views to the collector and waits until they are in the Parquet files, then
posts more and sends SIGTERM at once (a stop with work in flight): every component must exit
with code 0 and the supervisor must log each stop. While ``up`` is down, a standalone
collector takes more views. Phase 2 restarts ``up`` in the same folder: it must resume from
the committed offsets, so every event reaches the events topic and the Parquet files exactly
once (no loss, and no reprocessing: a clean stop commits everything it did), every view
reaches the views topic and the store, and every consumer group ends committed at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from confluent_kafka import Consumer, TopicPartition

from playpipe.config import Config, KafkaSettings
from playpipe.kafka.admin import connect
from playpipe.kafka.settings import consumer_config
from playpipe.kafka.topics import topic_name
from tests.integration.api.kafka_io import wait_for
from tests.integration.collector_proc import CollectorProcess
from tests.integration.up_proc import DEFAULT_CONFIG, UpProcess

pytestmark = pytest.mark.kafka

COMPONENTS = {
    "collector",
    "standardizer",
    "aggregator",
    "connect events-parquet",
    "connect views-parquet",
    "api",
}
CONNECTORS = ("events-parquet", "views-parquet")
EVENTS_PER_VIEW = 5


def view_events(view_id: str, start_ms: int) -> list[dict[str, Any]]:
    """One complete view: start, play intent, first frame, playing, end."""
    kinds = ["view_start", "play_requested", "first_frame", "playing", "view_end"]
    events = []
    for seq, kind in enumerate(kinds):
        event: dict[str, Any] = {
            "event_type": kind,
            "schema_version": 1,
            "event_id": uuid.uuid4().hex,
            "seq": seq,
            "client_ts": start_ms + seq * 400,
            "view_id": view_id,
            "network": {"cdn": "akamai"},
        }
        if kind == "view_end":
            event["reason"] = "ended"
        events.append(event)
    return events


def post_views(url: str, tag: str, count: int) -> set[str]:
    """Post ``count`` views in batches; the event ids the collector accepted (202)."""
    ids: set[str] = set()
    now = int(time.time() * 1000)
    with httpx.Client(base_url=url, timeout=30) as http:
        for batch in range(0, count, 10):
            events = [
                e
                for i in range(batch, min(batch + 10, count))
                for e in view_events(f"{tag}-{i}", now + i)
            ]
            response = http.post("/v1/events?key=demo", json=events)
            assert response.status_code == 202, response.text
            assert response.json()["rejected"] == [], response.text
            ids.update(e["event_id"] for e in events)
    return ids


def parquet_rows(folder: Path) -> list[str]:
    """The event ids (or view ids) of every finished Parquet file under ``folder``."""
    column = "event_id" if folder.name == "events" else "view_id"
    ids: list[str] = []
    for path in folder.rglob("*.parquet"):
        if not path.name.startswith("."):
            ids.extend(pq.read_table(path, columns=[column]).column(column).to_pylist())
    return ids


def topic_keys(config: Config, short: str) -> list[bytes]:
    """Every record key of a topic, from the beginning to the current end."""
    topic = topic_name(config, short)
    consumer = Consumer(
        consumer_config(
            config.kafka, f"check-{uuid.uuid4().hex}", **{"auto.offset.reset": "earliest"}
        )
    )
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in parts
        }
        consumer.assign([TopicPartition(topic, p, 0) for p in parts])
        keys: list[bytes] = []
        left = {p for p, end in ends.items() if end > 0}
        deadline = time.monotonic() + 60
        while left and time.monotonic() < deadline:
            for message in consumer.consume(500, timeout=1):
                if message.error() is None:
                    keys.append(message.key() or b"")
                    if message.offset() + 1 >= ends[message.partition()]:
                        left.discard(message.partition())
        assert not left, f"could not read {topic} to its end"
        return keys
    finally:
        consumer.close()


def uncommitted(config: Config, group: str, short: str) -> int:
    """Records of ``short`` after the group's committed offsets (its lag)."""
    topic = topic_name(config, short)
    consumer = Consumer(consumer_config(config.kafka, group))
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        committed = consumer.committed([TopicPartition(topic, p) for p in parts], timeout=10)
        lag = 0
        for tp in committed:
            low, high = consumer.get_watermark_offsets(tp, timeout=10)
            lag += high - (tp.offset if tp.offset >= 0 else low)
        return lag
    finally:
        consumer.close()


def stored_views(api_url: str) -> int:
    body = httpx.get(f"{api_url}/v1/views?from=-1h&to=now&limit=1000", timeout=10).json()
    return len(body["views"])


def test_sigterm_then_restart_resumes_from_committed_offsets(
    kafka_bootstrap: str, unique_prefix: str, tmp_path: Path
) -> None:
    config = Config(kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap, timeout_s=15.0))
    config.topics.prefix = unique_prefix
    work = tmp_path / "up"
    up = UpProcess("up", kafka_bootstrap, unique_prefix, work)
    ports = {"collector_port": up.collector_port, "api_port": up.api_port}
    data = work / ".playpipe" / "data"
    sent: set[str] = set()
    try:
        up.wait_healthy()
        # `up` applied the topics before it started anything: the connectors' DLQs too.
        topics = connect(config.kafka).metadata.topics
        assert {topic_name(config, f"dlq.{n}") for n in CONNECTORS} <= set(topics)
        sent |= post_views(up.collector_url, "first", 40)
        wait_for(lambda: len(parquet_rows(data / "events")) >= len(sent), 120, "phase 1 in Parquet")
        # More work in flight, then SIGTERM right away.
        sent |= post_views(up.collector_url, "inflight", 20)
        assert up.terminate() == 0, up.logs()
        assert up.stopped_components() == dict.fromkeys(COMPONENTS, 0), up.logs()
        assert "All components stopped." in up.output()
        assert "Traceback" not in up.logs(), up.logs()
    finally:
        up.kill()

    # While `up` is down, another collector takes more views.
    collector = CollectorProcess(kafka_bootstrap, unique_prefix, tmp_path / "spool").start()
    try:
        sent |= post_views(collector.url, "while-down", 30)
    finally:
        collector.stop()
    views = 40 + 20 + 30
    assert len(sent) == views * EVENTS_PER_VIEW

    again = UpProcess("up", kafka_bootstrap, unique_prefix, work, **ports)
    try:
        again.wait_healthy()
        wait_for(
            lambda: len(parquet_rows(data / "events")) >= len(sent), 180, "every event in Parquet"
        )
        wait_for(lambda: stored_views(again.api_url) >= views, 120, "every view in the store")
        groups = {
            f"{unique_prefix}-standardizer": "beacons.raw",
            f"{unique_prefix}-aggregator": "events",
            f"{unique_prefix}-connector-events-parquet": "events",
            f"{unique_prefix}-connector-views-parquet": "views",
        }
        for group, short in groups.items():
            wait_for(
                lambda g=group, s=short: uncommitted(config, g, s) == 0, 60, f"{group} commits"
            )
        # Exactly once through a clean stop: nothing lost, nothing processed twice.
        events = parquet_rows(data / "events")
        assert len(events) == len(sent) and set(events) == sent
        assert len(topic_keys(config, "events")) == len(sent)
        view_keys = topic_keys(config, "views")
        assert len(set(view_keys)) == views
        assert len(set(parquet_rows(data / "views"))) == views
        assert stored_views(again.api_url) == views
        assert again.terminate() == 0, again.logs()
        assert again.stopped_components() == dict.fromkeys(COMPONENTS, 0), again.logs()
    finally:
        again.kill()


def test_topics_apply_creates_each_connectors_dlq(
    kafka_bootstrap: str, unique_prefix: str, tmp_path: Path
) -> None:
    shutil.copy(DEFAULT_CONFIG, tmp_path / "playpipe.toml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYPIPE_")}
    env.update({"PLAYPIPE_TOPICS_PREFIX": unique_prefix, "COLUMNS": "200"})
    command = [sys.executable, "-m", "playpipe", "topics", "apply", "-b", kafka_bootstrap]
    dry = subprocess.run(
        [*command, "--dry-run"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert dry.returncode == 0, dry.stderr
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    config = Config(kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap))
    config.topics.prefix = unique_prefix
    topics = connect(config.kafka).metadata.topics
    for name in CONNECTORS:
        dlq = topic_name(config, f"dlq.{name}")
        assert dlq in dry.stdout, dry.stdout
        assert dlq in topics
