"""No acknowledged message is lost when a partition leader is SIGKILLed mid-stream.

The topology of Kafka's own replication tests: 3 brokers, RF=3, min ISR 2, acks=all,
idempotent producer, unclean leader election off.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from playpipe.config import KafkaSettings
from playpipe.kafka.local import LocalCluster
from playpipe.kafka.settings import consumer_config, producer_config

pytestmark = [pytest.mark.kafka, pytest.mark.cluster3]

TOTAL = 200_000
KILL_AT = 60_000
RESTART_AT = 140_000


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def under_replicated(admin: AdminClient, topic: str) -> int:
    partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions.values()
    return sum(1 for p in partitions if len(p.isrs) < len(p.replicas))


@pytest.mark.timeout(900)
def test_acknowledged_messages_survive_a_leader_kill(
    kafka_cluster3: LocalCluster, unique_prefix: str
) -> None:
    bootstrap = kafka_cluster3.bootstrap_servers
    topic = f"{unique_prefix}.durability"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    config = {"min.insync.replicas": "2", "unclean.leader.election.enable": "false"}
    admin.create_topics([NewTopic(topic, 6, 3, config=config)])[topic].result(30)
    wait_for(lambda: topic in admin.list_topics(timeout=10).topics, 30, "the topic")

    settings = KafkaSettings(bootstrap_servers=bootstrap)
    producer = Producer(producer_config(settings))
    acked: set[int] = set()
    failed: list[str] = []

    def on_delivery(err: KafkaError | None, msg: object) -> None:
        if err is None:
            acked.add(int(msg.value()))  # type: ignore[attr-defined]
        else:
            failed.append(err.str())

    victim = None
    for i in range(TOTAL):
        if i == KILL_AT:
            leader = admin.list_topics(topic, timeout=10).topics[topic].partitions[0].leader
            victim = leader
            kafka_cluster3.kill_node(leader, signal.SIGKILL)
        if i == RESTART_AT:
            assert victim is not None
            kafka_cluster3.start_node(victim)
        while True:
            try:
                producer.produce(
                    topic,
                    value=str(i).encode(),
                    key=f"view-{i % 5000}".encode(),
                    on_delivery=on_delivery,
                )
                break
            except BufferError:
                producer.poll(0.1)
        if i % 1000 == 0:
            producer.poll(0)
    assert producer.flush(180) == 0
    assert victim is not None
    # Every message either was acknowledged or its failure was reported to us.
    assert len(acked) + len(failed) == TOTAL

    consumer = Consumer(consumer_config(settings, f"{unique_prefix}-verify"))
    consumer.subscribe([topic])
    seen: set[int] = set()
    deadline = time.monotonic() + 180
    try:
        while not acked <= seen and time.monotonic() < deadline:
            for msg in consumer.consume(1000, timeout=1.0):
                if msg.error() is None:
                    seen.add(int(msg.value()))
    finally:
        consumer.close()
    missing = acked - seen
    assert not missing, f"{len(missing)} acknowledged messages lost, e.g. {sorted(missing)[:5]}"

    wait_for(lambda: all(s.up for s in kafka_cluster3.status()), 120, "the restarted node")
    wait_for(lambda: under_replicated(admin, topic) == 0, 180, "no under-replicated partitions")
