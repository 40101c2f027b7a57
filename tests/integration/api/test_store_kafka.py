"""The store filled from real Kafka topics, and every endpoint over it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from playpipe.api.ingest import StoreIngest, group_for
from playpipe.api.records import WindowIn
from playpipe.api.store import MetricsStore, WriteResult
from playpipe.config import Config
from playpipe.kafka.settings import consumer_config
from playpipe.kafka.topics import apply_topics, topic_name
from tests.integration.api.kafka_io import ingest_until, produce, wait_for
from tests.unit.api.harness import NOW, client
from tests.unit.api.synth import synthetic_views, synthetic_windows, view, window

pytestmark = pytest.mark.kafka
FIRST = NOW - 600_000


@pytest.fixture
def config(kafka_config: Config, tmp_path: Path) -> Config:
    kafka_config.api.data_dir = str(tmp_path / "store")
    apply_topics(kafka_config)
    return kafka_config


def test_every_endpoint_over_a_store_filled_from_kafka(config: Config) -> None:
    windows = synthetic_windows(FIRST, 30) + synthetic_windows(FIRST, 5, "1m", seed=3)
    views = synthetic_views(NOW, 60)
    total = produce(config, windows, views)
    store = MetricsStore.in_dir(config.api.data_dir)
    ingest_until(config, store, total)
    api = client(store)

    def get(url: str, status: int = 200) -> Any:
        response = api.get(url)
        assert response.status_code == status, response.text
        return response.json()

    series = get(f"/v1/metrics?name=starts,concurrent_viewers&from={FIRST}&to={NOW}")
    assert len(series["series"][0]["t"]) == 30
    assert all(v > 0 for v in series["series"][0]["values"]["concurrent_viewers"])
    by_cdn = get(f"/v1/metrics?name=attempts&by=cdn&filter=country:DE&from={FIRST}&to={NOW}")
    assert {s["group"]["cdn"] for s in by_cdn["series"]} == {"akamai", "fastly", "cloudfront"}
    minute = get(f"/v1/metrics?window=1m&name=attempts&from={FIRST}&to={NOW}")
    assert len(minute["series"][0]["t"]) == 5
    listed = get("/v1/views?limit=1000&filter=country:FR")["views"]
    assert listed and all(v["dimensions"]["country"] == "FR" for v in listed)
    one = get(f"/v1/views/{listed[0]['view_id']}")
    assert one["view"]["view_id"] == listed[0]["view_id"] and one["timeline"]["milestones"]
    values = get("/v1/dimensions/country")["values"]
    assert sum(v["views"] for v in values) == 60
    assert get("/v1/errors")["errors"]
    assert get("/v1/metrics?window=5m", 400)["parameter"] == "window"
    assert get("/v1/views?order=bogus", 400)["allowed"][0] == "-avg_bitrate_kbps"
    store.close()


def test_corrections_replace_earlier_values(config: Config) -> None:
    start = NOW - 20_000
    dims = {"cdn": "akamai"}
    produce(
        config,
        [
            window(start, dims, revision=0, attempts=4, starts=3),
            window(start, dims, revision=1, attempts=6, starts=5),
            window(start, dims, revision=0, attempts=4, starts=3),  # a replayed duplicate
        ],
    )
    store = MetricsStore.in_dir(config.api.data_dir)
    ingest_until(config, store, 3)
    body = client(store).get("/v1/metrics?name=starts,attempts&by=cdn&from=-1m").json()
    assert body["series"][0]["values"] == {"starts": [5], "attempts": [6]}
    produce(config, [window(start, dims, revision=2, attempts=7, starts=7)])
    changed: list[WindowIn] = []

    def record(result: WriteResult) -> None:
        changed.extend(result.windows)

    ingest = StoreIngest(config, store, on_write=record)
    ingest.start()
    wait_for(lambda: ingest.records >= 1, what="the correction")
    ingest.stop()
    assert [(w.revision, w.starts) for w in changed] == [(2, 7)]
    body = client(store).get("/v1/metrics?name=starts&by=cdn&from=-1m").json()
    assert body["series"][0]["values"]["starts"] == [7]
    store.close()


def committed(config: Config) -> int:
    consumer = Consumer(consumer_config(config.kafka, group_for(config)))
    try:
        views = topic_name(config, "views")
        parts = [TopicPartition(views, p) for p in range(config.topics.partitions)]
        return sum(max(tp.offset, 0) for tp in consumer.committed(parts, timeout=10))
    finally:
        consumer.close()


def test_restart_resumes_where_the_store_left_off(config: Config) -> None:
    first = [view(f"a{n}", NOW - n * 1000) for n in range(30)]
    produce(config, views=first)
    store = MetricsStore.in_dir(config.api.data_dir)
    ingest_until(config, store, 30)
    store.close()
    assert committed(config) == 30  # committed to Kafka after the rows were written
    produce(config, views=[view(f"b{n}", NOW - n * 1000) for n in range(12)])
    store = MetricsStore.in_dir(config.api.data_dir)
    second = ingest_until(config, store, 12)
    assert second.records == 12  # only the new ones: nothing read twice
    assert store.query("SELECT count(*) FROM views") == [(42,)]
    store.close()
    assert committed(config) == 42


def test_token_reads_only_its_properties(config: Config) -> None:
    windows = synthetic_windows(FIRST, 6, finest=("property", "cdn"), sets=([], ["property"]))
    views = synthetic_views(NOW, 30)
    total = produce(config, windows, views)
    store = MetricsStore.in_dir(config.api.data_dir)
    ingest_until(config, store, total)
    api = client(store, host="192.0.2.10", tokens={"b-key": ["site-b"]})
    assert api.get("/v1/views").status_code == 401
    auth = {"Authorization": "Bearer b-key"}
    listed = api.get("/v1/views?limit=1000", auth).json()["views"]
    assert listed and {v["dimensions"]["property"] for v in listed} == {"site-b"}
    body = api.get(f"/v1/metrics?name=attempts&from={FIRST}&to={NOW}", auth).json()
    assert body["dimension_set"] == ["property"]
    stored = store.query(
        "SELECT window_start_ms, attempts FROM windows WHERE dims['property'] = 'site-b' ORDER BY 1"
    )
    assert body["series"][0]["values"]["attempts"] == [a for _, a in stored]
    store.close()
