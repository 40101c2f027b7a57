"""The one place that decides how playpipe's Kafka clients behave.

Producers never lose an acknowledged message: ``acks=all`` with idempotence, so a retry
after a lost response never duplicates or reorders a partition. Consumers store offsets only
after the message was processed (``enable.auto.offset.store=false``) and fetch eagerly:
librdkafka's default ``fetch.queue.backoff.ms=1000`` stalls a Python consume loop.
"""

from __future__ import annotations

import logging
from typing import Any

from playpipe.config import KafkaSettings

PRODUCER_DEFAULTS: dict[str, Any] = {
    "acks": "all",
    "enable.idempotence": True,
    "compression.type": "lz4",
    "linger.ms": 5,
    "max.in.flight.requests.per.connection": 5,
    # The Java client's partitioner, so every client puts a view's key on the same partition.
    "partitioner": "murmur2_random",
    # Keep retrying through a broker failover; the delivery timeout bounds the wait.
    "delivery.timeout.ms": 120_000,
}

CONSUMER_DEFAULTS: dict[str, Any] = {
    "auto.offset.reset": "earliest",
    "enable.auto.commit": True,
    "enable.auto.offset.store": False,
    "auto.commit.interval.ms": 1000,
    "fetch.queue.backoff.ms": 10,
    "partition.assignment.strategy": "cooperative-sticky",
    "isolation.level": "read_committed",
    # A crashed member's partitions move after 10 s instead of librdkafka's 45 s.
    "session.timeout.ms": 10_000,
    "heartbeat.interval.ms": 3_000,
}


# librdkafka's own log lines go through Python logging, one line each like ours.
_client_logger = logging.getLogger("kafka.client")


def _base(settings: KafkaSettings) -> dict[str, Any]:
    return {
        "bootstrap.servers": settings.bootstrap_servers,
        "logger": _client_logger,
        **settings.client,
    }


def producer_config(settings: KafkaSettings, **overrides: Any) -> dict[str, Any]:
    """librdkafka settings for a producer: durable, idempotent, lz4, small linger."""
    return {**PRODUCER_DEFAULTS, **_base(settings), **overrides}


def consumer_config(settings: KafkaSettings, group_id: str, **overrides: Any) -> dict[str, Any]:
    """librdkafka settings for a consumer in ``group_id`` that stores offsets after work."""
    return {**CONSUMER_DEFAULTS, **_base(settings), "group.id": group_id, **overrides}


def admin_config(settings: KafkaSettings, **overrides: Any) -> dict[str, Any]:
    """librdkafka settings for the admin client."""
    return {**_base(settings), **overrides}
