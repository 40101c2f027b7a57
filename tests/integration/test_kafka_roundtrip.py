from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, Producer

from playpipe.config import KafkaSettings
from playpipe.kafka.settings import consumer_config, producer_config

pytestmark = pytest.mark.kafka


def consume_all(
    settings: KafkaSettings, topic: str, expected: int
) -> list[tuple[bytes, int, bytes]]:
    consumer = Consumer(consumer_config(settings, f"g-{topic}"))
    consumer.subscribe([topic])
    seen: list[tuple[bytes, int, bytes]] = []
    idle = 0
    try:
        while len(seen) < expected and idle < 30:
            batch = consumer.consume(500, timeout=1.0)
            idle = 0 if batch else idle + 1
            for msg in batch:
                assert msg.error() is None, msg.error()
                seen.append((msg.key(), msg.partition(), msg.value()))
    finally:
        consumer.close()
    return seen


def test_keys_land_on_stable_partitions(
    kafka_bootstrap: str, make_topic: Callable[..., str]
) -> None:
    topic = make_topic(partitions=6)
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    keys = [f"view-{i}".encode() for i in range(50)]

    first_round: dict[bytes, set[int]] = defaultdict(set)
    for round_no in range(2):
        producer = Producer(producer_config(settings))  # a new producer each round
        for i in range(400):
            key = keys[i % len(keys)]
            producer.produce(topic, value=f"{round_no}:{i}".encode(), key=key)
        assert producer.flush(30) == 0

    records = consume_all(settings, topic, 800)
    assert len(records) == 800
    for key, partition, _ in records:
        first_round[key].add(partition)
    # Every message of one key, from either producer, sits on one partition.
    assert all(len(parts) == 1 for parts in first_round.values())
    # ... and the keys are spread over the partitions.
    assert len({p for parts in first_round.values() for p in parts}) >= 4


def test_order_within_a_key_is_kept(kafka_bootstrap: str, make_topic: Callable[..., str]) -> None:
    topic = make_topic(partitions=3)
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    producer = Producer(producer_config(settings))
    for i in range(1000):
        producer.produce(topic, value=str(i).encode(), key=f"k{i % 7}".encode())
    assert producer.flush(30) == 0
    per_key: dict[bytes, list[int]] = defaultdict(list)
    for key, _, value in consume_all(settings, topic, 1000):
        per_key[key].append(int(value))
    assert sum(len(v) for v in per_key.values()) == 1000
    assert all(values == sorted(values) for values in per_key.values())
