"""``playpipe dlq replay NAME``: send dead-lettered records through the connector again.

Run it after the cause is fixed. It reads ``<prefix>.dlq.<name>`` from the last replayed
position up to the end as it was when the replay started, sends each batch through the
connector's write path once (after the same filter, sampling and field selection), and
commits as it goes. A record that fails again is produced to the end of the DLQ with its
attempt count plus one and its original source; it is not read again by this replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from playpipe.config import Config
from playpipe.connectors import metrics
from playpipe.connectors.app import start
from playpipe.connectors.base import Connector, Record
from playpipe.connectors.dlq import (
    ERROR_ATTEMPTS,
    DeadLetters,
    dlq_short_name,
    parse_headers,
    source_of,
)
from playpipe.connectors.runtime import decode, to_record
from playpipe.connectors.transform import Transform
from playpipe.connectors.validate import find
from playpipe.errors import DeliveryError, KafkaUnavailableError, TerminalError
from playpipe.kafka.settings import consumer_config, producer_config
from playpipe.kafka.topics import topic_name
from playpipe.log import get_logger

log = get_logger("connectors")


@dataclass
class ReplayReport:
    """What a replay did."""

    read: int = 0
    delivered: int = 0
    failed_again: int = 0
    dropped: int = 0


def _assign_all(consumer: Consumer, topic: str, timeout: float) -> dict[int, int]:
    """Assign every partition from its committed offset; return partition -> end offset."""
    metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
    if metadata is None or metadata.error is not None:
        raise KafkaUnavailableError(
            f"The dead-letter topic {topic} does not exist (nothing to replay)."
        )
    partitions = [TopicPartition(topic, p) for p in metadata.partitions]
    committed = consumer.committed(partitions, timeout=timeout)
    ends: dict[int, int] = {}
    for tp in committed:
        low, high = consumer.get_watermark_offsets(tp, timeout=timeout)
        tp.offset = tp.offset if tp.offset >= 0 else low
        if tp.offset < high:
            ends[tp.partition] = high
    consumer.assign([tp for tp in committed if tp.partition in ends])
    return ends


class Replayer:
    """Replays one connector's DLQ."""

    def __init__(
        self, connector: Connector[Any], consumer: Consumer, dead_letters: DeadLetters
    ) -> None:
        self.connector = connector
        self.consumer = consumer
        self.dead_letters = dead_letters
        self.transform = Transform(connector.settings)
        self.report = ReplayReport()

    def record_of(self, message: Message) -> Record | None:
        headers = list(message.headers() or [])
        parsed = parse_headers(headers)
        attempts = int(parsed.get(ERROR_ATTEMPTS, "0") or 0)
        try:
            data = decode(message)
        except TerminalError as exc:
            record = to_record(message, {})
            record.source, record.attempts = source_of(parsed), attempts
            self.dead_letters.send([record], exc, attempts + 1)
            self.report.failed_again += 1
            return None
        _kind, stamp = message.timestamp()
        kept = self.transform.apply(data, stamp, message.key())
        if kept is None:
            self.report.dropped += 1
            return None
        record = to_record(message, kept)
        record.source, record.attempts = source_of(parsed), attempts
        return record

    def send(self, batch: list[Record]) -> None:
        failed: list[tuple[Record, BaseException]]
        try:
            result = self.connector.write(batch)
            self.connector.flush()
            failed = list(result.failed) if result else []
        except DeliveryError as exc:
            failed = [(r, exc) for r in batch]
        for record, error in failed:
            self.dead_letters.send([record], error, record.attempts + 1)
            metrics.dead_lettered.labels(self.connector.name, type(error).__name__).inc()
        self.report.delivered += len(batch) - len(failed)
        self.report.failed_again += len(failed)

    def run(self, ends: dict[int, int]) -> ReplayReport:
        limit = self.connector.settings.batch.max_events
        positions: dict[int, int] = {}
        while ends:
            messages = self.consumer.consume(min(limit, 5000), timeout=1.0)
            batch: list[Record] = []
            for message in messages:
                if message.error() is not None:
                    if message.error().code() != KafkaError._PARTITION_EOF:
                        log.warning("replay.consume_error", error=message.error().str())
                    continue
                partition, offset = message.partition() or 0, message.offset() or 0
                if partition not in ends or offset >= ends[partition]:
                    continue
                self.report.read += 1
                positions[partition] = offset + 1
                record = self.record_of(message)
                if record is not None:
                    batch.append(record)
            if not messages:  # nothing left to read (or only markers): trust the positions
                for tp in self.consumer.position(self.consumer.assignment()):
                    if tp.offset >= 0:
                        positions[tp.partition] = max(positions.get(tp.partition, 0), tp.offset)
            if batch:
                self.send(batch)
            self.dead_letters.flush()
            self._commit(positions)
            ends = {p: e for p, e in ends.items() if positions.get(p, -1) < e}
        return self.report

    def _commit(self, positions: dict[int, int]) -> None:
        if positions:
            topic = self.dead_letters.topic
            offsets = [TopicPartition(topic, p, o) for p, o in positions.items()]
            self.consumer.commit(offsets=offsets, asynchronous=False)


def replay_dlq(config: Config, name: str) -> ReplayReport:
    """Replay connector ``name``'s dead-letter topic once, to its current end."""
    settings = find(config.connectors, name)
    topic = topic_name(config, dlq_short_name(name))
    connector = start(config, settings)
    group = f"{config.topics.prefix}-dlq-replay-{name}"
    consumer = Consumer(consumer_config(config.kafka, group, **{"enable.auto.commit": False}))
    producer = Producer(producer_config(config.kafka))
    try:
        ends = _assign_all(consumer, topic, config.kafka.timeout_s)
        report = Replayer(connector, consumer, DeadLetters(producer, topic, name)).run(ends)
    finally:
        consumer.close()
        connector.close()
    log.info(
        "replay.done",
        connector=name,
        read=report.read,
        delivered=report.delivered,
        failed_again=report.failed_again,
        dropped=report.dropped,
    )
    return report
