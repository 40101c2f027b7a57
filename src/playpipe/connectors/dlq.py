"""The dead-letter topic of a connector: ``<prefix>.dlq.<name>``.

A dead-letter record keeps the original key and value, and says why in its headers (after
Kafka Connect's ``__connect.errors.*`` context headers)::

    playpipe.error.class        TerminalError / TransientError / …
    playpipe.error.message      the destination's answer
    playpipe.error.attempts     delivery attempts made so far
    playpipe.error.timestamp    when it was dead-lettered (ms since epoch)
    playpipe.source.topic       where the record was first read
    playpipe.source.partition
    playpipe.source.offset
    playpipe.connector          the connector's name

Records are written before the offsets of their batch are committed, so a crash never
loses one: it is dead-lettered again or delivered on the next run.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from playpipe.connectors.base import Record

if TYPE_CHECKING:
    from confluent_kafka import KafkaError, Message, Producer

PREFIX = "playpipe."
ERROR_CLASS = "playpipe.error.class"
ERROR_MESSAGE = "playpipe.error.message"
ERROR_ATTEMPTS = "playpipe.error.attempts"
ERROR_TIMESTAMP = "playpipe.error.timestamp"
SOURCE_TOPIC = "playpipe.source.topic"
SOURCE_PARTITION = "playpipe.source.partition"
SOURCE_OFFSET = "playpipe.source.offset"
CONNECTOR = "playpipe.connector"
OWN_HEADERS = frozenset(
    {
        ERROR_CLASS,
        ERROR_MESSAGE,
        ERROR_ATTEMPTS,
        ERROR_TIMESTAMP,
        SOURCE_TOPIC,
        SOURCE_PARTITION,
        SOURCE_OFFSET,
        CONNECTOR,
    }
)
MAX_MESSAGE = 4000


def dlq_short_name(connector: str) -> str:
    """The short topic name of a connector's DLQ (prefix it with ``topic_name``)."""
    return f"dlq.{connector}"


def build_headers(
    record: Record, error: BaseException, attempts: int, connector: str, now_ms: int | None = None
) -> list[tuple[str, bytes]]:
    """The headers of ``record`` sent to the DLQ after ``attempts`` attempts failed."""
    topic, partition, offset = record.origin
    stamp = int(time.time() * 1000) if now_ms is None else now_ms
    message = str(error) or type(error).__name__
    ours = [
        (ERROR_CLASS, type(error).__name__),
        (ERROR_MESSAGE, message[:MAX_MESSAGE]),
        (ERROR_ATTEMPTS, str(attempts)),
        (ERROR_TIMESTAMP, str(stamp)),
        (SOURCE_TOPIC, topic),
        (SOURCE_PARTITION, str(partition)),
        (SOURCE_OFFSET, str(offset)),
        (CONNECTOR, connector),
    ]
    kept = [(k, v) for k, v in record.headers if k not in OWN_HEADERS]
    return kept + [(k, v.encode()) for k, v in ours]


def parse_headers(headers: Iterable[tuple[str, bytes | None]]) -> dict[str, str]:
    """The dead-letter headers of a message as text (other headers are left out)."""
    return {k: (v or b"").decode("utf-8", "replace") for k, v in headers if k in OWN_HEADERS}


def source_of(headers: dict[str, str]) -> tuple[str, int, int] | None:
    """(topic, partition, offset) of first read, from parsed dead-letter headers."""
    try:
        return (
            headers[SOURCE_TOPIC],
            int(headers[SOURCE_PARTITION]),
            int(headers[SOURCE_OFFSET]),
        )
    except (KeyError, ValueError):
        return None


class DeadLetters:
    """Produces dead-letter records and waits until Kafka has every one of them."""

    def __init__(self, producer: Producer, topic: str, connector: str) -> None:
        self.producer = producer
        self.topic = topic
        self.connector = connector
        self._failed: list[tuple[str, Any]] = []
        self.sent = 0

    def send(self, records: Iterable[Record], error: BaseException, attempts: int) -> int:
        """Queue ``records`` for the DLQ; returns how many. Call :meth:`flush` before commit."""
        count = 0
        for record in records:
            headers = build_headers(record, error, attempts, self.connector)
            self._produce(record.key, record.value, headers)
            count += 1
        self.sent += count
        return count

    def _produce(self, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        def report(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                self._failed.append((err.str(), (key, value, headers)))

        while True:
            try:
                self.producer.produce(self.topic, value, key, headers=headers, on_delivery=report)
                return
            except BufferError:
                self.producer.poll(0.05)

    def flush(self) -> None:
        """Block until Kafka acknowledged every queued record, producing failed ones again."""
        backoff = 0.2
        while True:
            remaining = self.producer.flush(10.0)
            if not self._failed and remaining == 0:
                return
            failed, self._failed = self._failed, []
            for _reason, (key, value, headers) in failed:
                self._produce(key, value, headers)
            time.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
