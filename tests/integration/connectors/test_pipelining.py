"""Pipelined delivery: the next batch is read while one is being written, offsets are
committed only once the destination acknowledged the batch that holds them, and a rebalance
in the middle delivers every event once."""

from __future__ import annotations

import threading

import pytest
from confluent_kafka import Consumer, TopicPartition

from playpipe.config import Config
from playpipe.connectors.app import group_id
from playpipe.kafka.settings import consumer_config
from playpipe.kafka.topics import topic_name
from tests.integration.connectors.harness import (
    create_topic,
    make_events,
    produce,
    running,
    wait_for,
)
from tests.integration.connectors.receivers import Receiver, Reply, Request, WebhookLogic
from tests.integration.connectors.test_failures import delivered_ids, webhook

pytestmark = pytest.mark.kafka
EVENTS = 300
PARTITIONS = 3


class Holding:
    """A webhook that holds its first batch until ``release`` is set."""

    def __init__(self) -> None:
        self.logic = WebhookLogic()
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, request: Request) -> Reply:
        if request.method == "POST" and not self.entered.is_set():
            self.entered.set()
            assert self.release.wait(120), "the test never released the first batch"
        return self.logic(request)


def committed(config: Config, name: str) -> int:
    """Sum of the offsets the connector's group committed on the source topic."""
    consumer = Consumer(consumer_config(config.kafka, group_id(config, name)))
    try:
        topic = topic_name(config, "events")
        wanted = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        return sum(max(tp.offset, 0) for tp in consumer.committed(wanted, timeout=15))
    finally:
        consumer.close()


def test_offsets_wait_for_the_batch_in_flight(kafka_config: Config) -> None:
    create_topic(kafka_config, partitions=PARTITIONS)
    events = make_events(EVENTS, views=30)
    produce(kafka_config, events)
    handler = Holding()
    receiver = Receiver(handler).start()
    try:
        settings = webhook("pipe", receiver.url, batch={"max_events": 100, "max_age_ms": 100})
        with running(kafka_config, settings) as runtime:
            wait_for(handler.entered.is_set, what="the first batch at the destination")
            # The next batch was read and is due: the consumer waits for the writer, polling
            # with its partitions paused, and nothing of either batch is committed yet.
            wait_for(lambda: runtime.waiting, what="the next batch waiting for the first")
            assert committed(kafka_config, "pipe") == 0
            handler.release.set()
            wanted = {e["event_id"] for e in events}
            wait_for(lambda: wanted <= delivered_ids(handler.logic), what="every event")
        assert committed(kafka_config, "pipe") == EVENTS
        assert len(handler.logic.records()) == EVENTS  # each delivered once
    finally:
        handler.release.set()
        receiver.stop()


def test_a_rebalance_while_a_batch_is_held_delivers_each_event_once(kafka_config: Config) -> None:
    create_topic(kafka_config, partitions=PARTITIONS)
    events = make_events(EVENTS, views=30)
    produce(kafka_config, events)
    handler = Holding()
    receiver = Receiver(handler).start()
    revoking = threading.Event()
    try:
        settings = webhook("share", receiver.url, batch={"max_events": 100, "max_age_ms": 100})
        with running(kafka_config, settings, on_revoke=revoking.set):
            wait_for(handler.entered.is_set, what="the first batch at the destination")
            with running(kafka_config, settings):
                # The second copy joins while the first holds a batch in flight and has the
                # next one read: a revoked partition waits for the batch in flight and its
                # commit, and leaves the next batch, so nobody delivers its records twice.
                wait_for(revoking.is_set, timeout=60, what="a revocation in the first copy")
                assert committed(kafka_config, "share") == 0
                handler.release.set()
                wanted = {e["event_id"] for e in events}
                wait_for(lambda: wanted <= delivered_ids(handler.logic), what="every event")
        assert committed(kafka_config, "share") == EVENTS
        assert len(handler.logic.records()) == EVENTS  # none delivered twice
    finally:
        handler.release.set()
        receiver.stop()
