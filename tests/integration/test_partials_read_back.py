"""Reading back the partials a partition published since its checkpoint, from real Kafka."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Producer

from playpipe.config import Config
from playpipe.kafka.settings import producer_config
from playpipe.kafka.topics import apply_topics, topic_name
from playpipe.streams.partials import Partial, encoder, published_since

pytestmark = pytest.mark.kafka

T0 = int(time.time() * 1000) - 600_000  # the checkpoint's time (Kafka refuses far futures)


def _produce(producer: Producer, topic: str, at_ms: int, source: int, start: int, rev: int) -> None:
    partial = Partial("10s", 10_000, start, source, rev, ["cdn"], [])
    producer.produce(topic, encoder.encode(partial), partial.key(), timestamp=at_ms)


def test_the_highest_revision_per_window_of_the_asked_sources_since_a_time(
    kafka_config: Config,
) -> None:
    apply_topics(kafka_config)
    topic = topic_name(kafka_config, "aggregator.partials")
    producer = Producer(producer_config(kafka_config.kafka))
    _produce(producer, topic, T0 - 60_000, 0, 0, 9)  # before the checkpoint: not read
    _produce(producer, topic, T0 + 1_000, 0, 0, 3)
    _produce(producer, topic, T0 + 2_000, 0, 0, 5)
    _produce(producer, topic, T0 + 2_500, 0, 10_000, 0)
    _produce(producer, topic, T0 + 3_000, 1, 0, 7)  # another source
    _produce(producer, topic, T0 + 3_500, 2, 10_000, 4)  # not asked for
    producer.produce(topic, b"not a partial", b"10s|0", timestamp=T0 + 4_000)
    assert producer.flush(30) == 0
    found = published_since(kafka_config, topic, T0, {0, 1, 5})
    assert found == {0: {("10s", 0): 5, ("10s", 10_000): 0}, 1: {("10s", 0): 7}, 5: {}}


def test_nothing_published_since(kafka_config: Config) -> None:
    apply_topics(kafka_config)
    topic = topic_name(kafka_config, "aggregator.partials")
    producer = Producer(producer_config(kafka_config.kafka))
    _produce(producer, topic, T0, 0, 0, 1)
    assert producer.flush(30) == 0  # (the topic has its leaders: it took a write)
    assert published_since(kafka_config, topic, T0 + 1_000, {0}) == {0: {}}
