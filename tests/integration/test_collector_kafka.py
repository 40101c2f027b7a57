"""The real collector process against a real Kafka: keying, outages and crashes."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
from confluent_kafka import Consumer

from playpipe.config import Config, KafkaSettings, LocalKafkaSettings
from playpipe.kafka.local import LocalCluster
from playpipe.kafka.settings import consumer_config
from playpipe.kafka.topics import apply_topics
from tests.integration.collector_proc import CollectorProcess
from tests.unit.collector.harness import event

pytestmark = pytest.mark.kafka

OUTAGE_PORT_BASE = 39292


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def read_topic(
    bootstrap: str, topic: str, until: Callable[[list[dict]], bool], timeout: float = 120
) -> list[tuple[bytes, int, dict]]:
    consumer = Consumer(
        consumer_config(KafkaSettings(bootstrap_servers=bootstrap), f"verify-{uuid.uuid4().hex}")
    )
    consumer.subscribe([topic])
    out: list[tuple[bytes, int, dict]] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not until([o[2] for o in out]):
            for msg in consumer.consume(1000, timeout=1.0):
                if msg.error() is None:
                    # A raw record holds one event or the array of one view's events.
                    value = msgspec.json.decode(msg.value())
                    for item in value if isinstance(value, list) else [value]:
                        out.append((msg.key(), msg.partition(), item))
    finally:
        consumer.close()
    return out


def prepared_config(bootstrap: str, prefix: str) -> Config:
    config = Config(kafka=KafkaSettings(bootstrap_servers=bootstrap, timeout_s=20))
    config.topics.prefix = prefix
    config.topics.partitions = 4
    apply_topics(config)
    return config


def test_events_arrive_keyed_and_partitioned_by_view(
    kafka_bootstrap: str, unique_prefix: str, tmp_path: Path
) -> None:
    prepared_config(kafka_bootstrap, unique_prefix)
    collector = CollectorProcess(kafka_bootstrap, unique_prefix, tmp_path / "spool").start()
    try:
        views = [f"view-{i}" for i in range(40)]
        sent = []
        with httpx.Client(base_url=collector.url) as http:
            for round_no in range(5):
                batch = [event(view_id=v, seq=round_no) for v in views]
                sent += [e["event_id"] for e in batch]
                response = http.post("/v1/events?key=demo&sent_at=0", json=batch)
                assert response.status_code == 202, response.text
                assert response.json()["accepted"] == len(views)
    finally:
        collector.stop()
    records = read_topic(
        kafka_bootstrap, f"{unique_prefix}.beacons.raw", lambda got: len(got) >= len(sent)
    )
    assert sorted(r[2]["event_id"] for r in records) == sorted(sent)
    partitions: dict[bytes, set[int]] = {}
    for key, partition, value in records:
        assert key == value["view_id"].encode()
        partitions.setdefault(key, set()).add(partition)
    assert all(len(p) == 1 for p in partitions.values())
    assert len({p for ps in partitions.values() for p in ps}) == 4
    for key in partitions:  # one view's events stay in order
        seqs = [v["seq"] for k, _, v in records if k == key]
        assert seqs == sorted(seqs)


@pytest.fixture(scope="module")
def outage_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A Kafka of this module's own, so that stopping it disturbs no other test."""
    cluster = LocalCluster(
        LocalKafkaSettings(port_base=OUTAGE_PORT_BASE), tmp_path_factory.mktemp("kafka-outage")
    )
    cluster.start(nodes=1, port_base=OUTAGE_PORT_BASE)
    try:
        yield cluster
    finally:
        cluster.stop()


class LoadGenerator(threading.Thread):
    """Posts batches of 10 events; retries a batch answered 503, as players do."""

    def __init__(self, url: str, batches: int) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.batches = batches
        self.accepted: list[str] = []
        self.posted = 0
        self.statuses: dict[int, int] = {}

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            for n in range(self.batches):
                batch = [event(view_id=f"v{n % 300}", seq=n) for _ in range(10)]
                while True:
                    status = http.post("/v1/events?key=demo&sent_at=0", json=batch).status_code
                    self.statuses[status] = self.statuses.get(status, 0) + 1
                    if status == 202:
                        self.accepted += [e["event_id"] for e in batch]
                        break
                    assert status == 503, status
                    time.sleep(0.5)
                self.posted = n + 1


@pytest.mark.timeout(600)
def test_kafka_outage_loses_nothing_and_the_spool_empties(
    outage_cluster: LocalCluster, unique_prefix: str, tmp_path: Path
) -> None:
    bootstrap = outage_cluster.bootstrap_servers
    prepared_config(bootstrap, unique_prefix)
    collector = CollectorProcess(bootstrap, unique_prefix, tmp_path / "spool").start()
    load = LoadGenerator(collector.url, batches=5000)
    try:
        load.start()
        wait_for(lambda: load.posted >= 1000, 300, "the first 10,000 events")
        outage_cluster.stop()
        wait_for(lambda: load.posted >= 3500, 300, "events posted during the outage")
        outage_cluster.start(nodes=1)
        load.join(600)
        assert not load.is_alive()
        assert collector.metric("playpipe_spooled_events_total") > 0, (
            "the outage never reached the spool"
        )
        wait_for(lambda: collector.metric("playpipe_spool_bytes") == 0, 240, "the spool to empty")
    finally:
        collector.stop()
    assert len(load.accepted) == 50_000
    wanted = set(load.accepted)
    records = read_topic(
        bootstrap,
        f"{unique_prefix}.beacons.raw",
        lambda got: wanted <= {g["event_id"] for g in got},
        240,
    )
    missing = wanted - {r[2]["event_id"] for r in records}
    assert not missing, f"{len(missing)} accepted events lost"


@pytest.mark.timeout(300)
def test_kill_9_with_a_full_spool_then_restart_delivers_everything(
    outage_cluster: LocalCluster, unique_prefix: str, tmp_path: Path
) -> None:
    bootstrap = outage_cluster.bootstrap_servers
    prepared_config(bootstrap, unique_prefix)
    outage_cluster.stop()
    spool = tmp_path / "spool"
    collector = CollectorProcess(bootstrap, unique_prefix, spool, produce_timeout_ms=500).start()
    accepted: list[str] = []
    try:
        with httpx.Client(base_url=collector.url, timeout=30) as http:
            for n in range(200):
                batch = [event(view_id=f"v{n % 20}", seq=n) for _ in range(10)]
                assert http.post("/v1/events?key=demo&sent_at=0", json=batch).status_code == 202
                accepted += [e["event_id"] for e in batch]
        assert collector.metric("playpipe_spooled_events_total") == 2000
    finally:
        collector.kill()
    assert list(spool.glob("slot-*/spool-*.log")), "the spool should hold the events"
    outage_cluster.start(nodes=1)
    restarted = CollectorProcess(bootstrap, unique_prefix, spool)
    restarted.port = collector.port
    restarted.url = collector.url
    restarted.start()
    try:
        wanted = set(accepted)
        records = read_topic(
            bootstrap,
            f"{unique_prefix}.beacons.raw",
            lambda got: wanted <= {g["event_id"] for g in got},
            180,
        )
        assert not wanted - {r[2]["event_id"] for r in records}
        wait_for(lambda: restarted.metric("playpipe_spool_bytes") == 0, 60, "the spool to empty")
    finally:
        restarted.stop()
