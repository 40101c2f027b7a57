"""Reading a changelog partition back: the latest value per key, tombstones applied."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer

from playpipe.config import Config
from playpipe.kafka.settings import producer_config
from playpipe.kafka.topics import apply_topics, topic_name
from playpipe.streams.changelog import _read_partition

pytestmark = pytest.mark.kafka


def test_the_latest_value_of_each_key_and_tombstones(kafka_config: Config) -> None:
    apply_topics(kafka_config)
    topic = topic_name(kafka_config, "aggregator.state")
    producer = Producer(producer_config(kafka_config.kafka))
    for i in range(7):
        producer.produce(topic, f"v{i}".encode(), b"a", partition=1)
    producer.produce(topic, b"x", b"b", partition=1)
    producer.produce(topic, None, b"b", partition=1)  # deleted
    producer.produce(topic, b"c1", b"c", partition=1)
    producer.produce(topic, b"other", b"d", partition=0)
    assert producer.flush(30) == 0
    assert _read_partition(kafka_config, topic, 1) == {b"a": b"v6", b"c": b"c1"}
    assert _read_partition(kafka_config, topic, 2) == {}
