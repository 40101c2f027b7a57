"""The aggregator's recoverable state: a compacted changelog, one partition per input partition.

Keys (all in the changelog partition that matches the input partition):

- ``v:<view_id>`` — an open view's state (a tombstone when it ended);
- ``g`` — everything else: open windows, watermark, recently ended views;
- ``o`` — the input offset the checkpoint covers (8-byte big-endian).

A checkpoint writes the views changed since the previous one, then ``g``, then ``o``; the
input offset is committed only after Kafka acknowledged all three. Restoring reads the
partition to its end and keeps the last value of each key.
"""

from __future__ import annotations

import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from playpipe import telemetry
from playpipe.config import Config
from playpipe.kafka.settings import consumer_config
from playpipe.log import get_logger
from playpipe.streams.aggregation import Aggregation
from playpipe.streams.aggsettings import AggregationSettings
from playpipe.streams.runner import Output

log = get_logger("aggregator")

VIEW_PREFIX = b"v:"
GLOBAL_KEY = b"g"
OFFSET_KEY = b"o"


def checkpoint(agg: Aggregation, topic: str, partition: int, next_offset: int) -> list[Output]:
    """The changelog records that make ``agg`` recoverable at ``next_offset``."""
    changed, ended = agg.take_dirty()
    out = []
    for vid in changed:
        if vid in ended:
            continue
        try:
            snapshot = agg.snapshot_view(vid)
        except OverflowError:
            # A state that cannot be saved is a bug: say which, keep running on the rest.
            view = agg._sessions.views[vid]
            bad = {
                f: getattr(view, f)
                for f in view.__struct_fields__
                if "2**63" in _describe(getattr(view, f))
            }
            telemetry.errors.labels("aggregator", "checkpoint").inc()
            log.error("checkpoint.view_unsaved", view=vid, fields=repr(bad)[:500])
            continue
        out.append(Output(topic, VIEW_PREFIX + vid.encode(), snapshot, partition=partition))
    out += [Output(topic, VIEW_PREFIX + vid.encode(), None, partition=partition) for vid in ended]
    out.append(Output(topic, GLOBAL_KEY, agg.snapshot_windows(), partition=partition))
    out.append(Output(topic, OFFSET_KEY, next_offset.to_bytes(8, "big"), partition=partition))
    return out


def _describe(value: object) -> str:
    """'2**63' if ``value`` holds an int beyond 64 bits (what msgpack cannot write)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, int) and not -(2**63) <= item < 2**64:
            return "2**63"
        if isinstance(item, list | tuple | set):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif hasattr(item, "__struct_fields__"):
            stack.extend(getattr(item, f) for f in item.__struct_fields__)
    return ""


def restore(
    config: Config, settings: AggregationSettings, topic: str, partition: int
) -> tuple[Aggregation, int | None, int | None]:
    """The aggregation saved in changelog ``partition``, the offset to resume from and when
    that checkpoint was written (ms since the epoch, Kafka's timestamp)."""
    stamps: dict[bytes, int] = {}
    agg, offset = rebuild(settings, _read_partition(config, topic, partition, stamps))
    return agg, offset, stamps.get(OFFSET_KEY) if offset is not None else None


def rebuild(
    settings: AggregationSettings, latest: dict[bytes, bytes]
) -> tuple[Aggregation, int | None]:
    """The aggregation a changelog partition's last values describe, and its offset."""
    latest = dict(latest)
    agg = Aggregation(settings)
    offset_bytes = latest.pop(OFFSET_KEY, None)
    global_state = latest.pop(GLOBAL_KEY, None)
    if offset_bytes is None or global_state is None:
        return agg, None
    agg.restore_windows(global_state)
    for key, value in latest.items():
        if key.startswith(VIEW_PREFIX):
            agg.restore(key[len(VIEW_PREFIX) :].decode(), value)
    agg.take_dirty()  # restored views are not changes
    return agg, int.from_bytes(offset_bytes, "big")


def _bounds(consumer: Consumer, config: Config, tp: TopicPartition) -> tuple[int, int]:
    """The partition's low and high offsets, asked again while Kafka's answer is transient:
    right after the topic was created or while leadership moves, the broker answers
    NOT_LEADER_FOR_PARTITION or UNKNOWN_TOPIC_OR_PART for a moment."""
    deadline = time.monotonic() + max(config.kafka.timeout_s, 30.0)
    attempt = 0
    while True:
        try:
            low, high = consumer.get_watermark_offsets(tp, timeout=config.kafka.timeout_s)
            return int(low), int(high)
        except KafkaException as exc:
            attempt += 1
            error = exc.args[0] if exc.args else None
            retriable = isinstance(error, KafkaError) and (
                error.retriable()
                or error.code()
                in (KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.UNKNOWN_TOPIC_OR_PART)
            )
            if not retriable or time.monotonic() > deadline:
                raise
            log.warning(
                "restore.retry",
                topic=tp.topic,
                partition=tp.partition,
                attempt=attempt,
                error=str(exc),
            )
            time.sleep(min(2.0, 0.2 * attempt))


def _read_partition(
    config: Config, topic: str, partition: int, stamps: dict[bytes, int] | None = None
) -> dict[bytes, bytes]:
    """The last value of each key; ``stamps`` (if given) gets the timestamp of each."""
    consumer = Consumer(
        consumer_config(
            config.kafka, f"restore-{uuid.uuid4().hex}", **{"enable.auto.commit": False}
        )
    )
    latest: dict[bytes, bytes] = {}
    try:
        low, high = _bounds(consumer, config, TopicPartition(topic, partition))
        if high <= low:
            return latest
        consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        position = low
        while position < high:
            # Ask for no more than is left: consume() waits its whole timeout for a count
            # the partition does not hold (a second per restored partition).
            for message in consumer.consume(min(5000, high - position), timeout=1.0):
                if message.error() is not None:
                    continue
                position = message.offset() + 1
                key, value = message.key(), message.value()
                if key is None:
                    continue
                if value is None:
                    latest.pop(key, None)
                else:
                    latest[key] = value
                    if stamps is not None:
                        stamps[key] = message.timestamp()[1]
    finally:
        consumer.close()
    return latest
