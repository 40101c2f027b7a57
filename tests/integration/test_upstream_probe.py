"""The aggregator's probe of the standardizer's progress, against a real Kafka."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from playpipe.config import Config
from playpipe.kafka.settings import consumer_config, producer_config
from playpipe.kafka.topics import apply_topics, topic_name
from playpipe.streams.standardizer import standardizer_group
from playpipe.streams.upstream import KafkaProbe, UpstreamClock

pytestmark = pytest.mark.kafka


def _produce(config: Config, topic: str, partition: int, n: int) -> None:
    producer = Producer(producer_config(config.kafka))
    for i in range(n):
        producer.produce(topic, b"x", str(i).encode(), partition=partition)
    assert producer.flush(30) == 0


def _poll(clock: UpstreamClock, now: float, until_horizon: float | None = None) -> None:
    """Poll at ``now``; again while Kafka has no answer yet (fresh topics have no leader)."""
    deadline = time.monotonic() + 20
    clock.poll(now, [0, 1, 2])
    while clock.horizon != until_horizon and time.monotonic() < deadline:
        time.sleep(0.1)
        clock.poll(now, [0, 1, 2])


def test_the_horizon_waits_for_the_standardizers_commit(kafka_config: Config) -> None:
    apply_topics(kafka_config)
    raw, events = topic_name(kafka_config, "beacons.raw"), topic_name(kafka_config, "events")
    group = standardizer_group(kafka_config)
    probe = KafkaProbe(kafka_config, raw, group, events)
    clock = UpstreamClock(probe, every_s=0.0)

    _poll(clock, 1.0, until_horizon=1.0)
    assert probe.upstream_committed() == {}  # the group has committed nothing yet
    assert clock.horizon == 1.0, "empty raw topic: nothing pending upstream"
    assert clock.ends == {0: 0, 1: 0, 2: 0}

    _produce(kafka_config, raw, 1, 3)
    _produce(kafka_config, events, 2, 2)
    assert probe.upstream_ends() == {0: 0, 1: 3, 2: 0}
    for _ in range(5):
        clock.poll(2.0, [0, 1, 2])
    assert clock.horizon == 1.0, "three raw records not yet standardized"
    assert not clock.current and not clock.settled(0, None), "silence does not count yet"
    assert clock.ends == {0: 0, 1: 0, 2: 0}, "input ends move only with the horizon"

    committer = Consumer(consumer_config(kafka_config.kafka, group))
    try:
        committer.commit(offsets=[TopicPartition(raw, 1, 3)], asynchronous=False)
    finally:
        committer.close()
    deadline = time.monotonic() + 20
    while probe.upstream_committed() != {1: 3} and time.monotonic() < deadline:
        time.sleep(0.1)
    _poll(clock, 3.0, until_horizon=3.0)
    assert clock.horizon == 3.0
    assert clock.ends == {0: 0, 1: 0, 2: 2}
    assert clock.caught_up(0, None) and clock.caught_up(2, 2) and not clock.caught_up(2, 1)
    assert clock.current and clock.settled(2, 2) and not clock.settled(2, 1)


def test_no_raw_topic_is_no_upstream(kafka_config: Config) -> None:
    apply_topics(kafka_config)
    events = topic_name(kafka_config, "events")
    probe = KafkaProbe(kafka_config, f"{kafka_config.topics.prefix}.absent", "nobody", events)
    clock = UpstreamClock(probe, every_s=0.0)
    _poll(clock, 5.0, until_horizon=5.0)
    assert clock.horizon == 5.0
