"""Kafka helpers for connector tests: source topics, events, a connector in a thread."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from playpipe.config import Config
from playpipe.connectors.app import build_runtime
from playpipe.connectors.runtime import Runtime
from playpipe.connectors.settings import ConnectorConfig
from playpipe.kafka.settings import consumer_config, producer_config
from playpipe.kafka.topics import topic_name

BASE_TS = 1_732_579_200_000
TYPES = ["view_start", "playing", "heartbeat", "paused", "heartbeat", "playing"]


def create_topic(config: Config, short: str = "events", partitions: int = 3) -> str:
    """Create ``<prefix>.<short>`` and return its name."""
    name = topic_name(config, short)
    admin = AdminClient({"bootstrap.servers": config.kafka.bootstrap_servers})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(30)
    return name


def make_events(count: int, views: int = 20, seed: str = "") -> list[dict[str, Any]]:
    """Valid dictionary events spread over ``views`` views, with player and device nodes."""
    tag = seed or uuid.uuid4().hex[:8]
    out = []
    for i in range(count):
        ts = BASE_TS + i * 10
        out.append(
            {
                "event_type": TYPES[i % len(TYPES)],
                "event_id": f"{tag}-{i:07d}",
                "seq": i // views,
                "client_ts": ts,
                "received_at": ts + 40,
                "event_ts": ts + 20,
                "view_id": f"view-{tag}-{i % views:04d}",
                "viewer_id": f"viewer-{i % views:04d}",
                "source": "sdk",
                "player": {"name": "hls.js", "version": "1.5.13"},
                "device": {"type": "mobile", "os": "iOS"},
            }
        )
    return out


def produce(
    config: Config,
    events: list[dict[str, Any]],
    short: str = "events",
    extra: list[bytes | None] = (),
) -> None:
    """Produce events keyed by view, then any raw ``extra`` values (e.g. broken JSON)."""
    producer = Producer(producer_config(config.kafka))
    topic = topic_name(config, short)
    for event in events:
        key = str(event.get("view_id", "")).encode()
        producer.produce(topic, msgspec.json.encode(event), key)
        producer.poll(0)
    for value in extra:
        producer.produce(topic, value, b"broken")
    assert producer.flush(30) == 0


def read_topic(config: Config, name: str, expected: int, timeout: float = 30) -> list[Any]:
    """Messages of a full topic name: until ``expected`` arrived or ``timeout`` passed."""
    consumer = Consumer(consumer_config(config.kafka, f"read-{uuid.uuid4().hex}"))
    consumer.subscribe([name])
    out: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < expected and time.monotonic() < deadline:
            out += [m for m in consumer.consume(500, timeout=0.3) if m.error() is None]
    finally:
        consumer.close()
    return out


def wait_for(condition: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@contextmanager
def running(
    config: Config, settings: ConnectorConfig, on_revoke: Callable[[], None] | None = None
) -> Iterator[Runtime]:
    """Run a connector in a thread; stop it (delivering what it holds) on exit.

    ``on_revoke`` is called first whenever the connector's partitions are revoked."""
    config.connectors = [*config.connectors, settings]
    runtime = build_runtime(config, settings)
    if on_revoke is not None:
        original = runtime._on_revoke

        def announced(consumer: Any, partitions: Any) -> None:
            on_revoke()
            original(consumer, partitions)

        runtime._on_revoke = announced  # type: ignore[method-assign]
    thread = threading.Thread(target=runtime.run, daemon=True)
    thread.start()
    try:
        yield runtime
    finally:
        runtime.stop.set()
        thread.join(60)
        runtime.connector.close()
        assert not thread.is_alive(), "the connector did not stop"
