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

import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from playpipe.config import Config
from playpipe.kafka.settings import consumer_config
from playpipe.streams.aggregation import Aggregation
from playpipe.streams.aggsettings import AggregationSettings
from playpipe.streams.runner import Output

VIEW_PREFIX = b"v:"
GLOBAL_KEY = b"g"
OFFSET_KEY = b"o"


def checkpoint(agg: Aggregation, topic: str, partition: int, next_offset: int) -> list[Output]:
    """The changelog records that make ``agg`` recoverable at ``next_offset``."""
    changed, ended = agg.take_dirty()
    out = [
        Output(topic, VIEW_PREFIX + vid.encode(), agg.snapshot_view(vid), partition=partition)
        for vid in changed
        if vid not in ended
    ]
    out += [Output(topic, VIEW_PREFIX + vid.encode(), None, partition=partition) for vid in ended]
    out.append(Output(topic, GLOBAL_KEY, agg.snapshot_windows(), partition=partition))
    out.append(Output(topic, OFFSET_KEY, next_offset.to_bytes(8, "big"), partition=partition))
    return out


def restore(
    config: Config, settings: AggregationSettings, topic: str, partition: int
) -> tuple[Aggregation, int | None]:
    """The aggregation saved in changelog ``partition`` and the offset to resume from."""
    latest = _read_partition(config, topic, partition)
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


def _read_partition(config: Config, topic: str, partition: int) -> dict[bytes, bytes]:
    consumer = Consumer(
        consumer_config(
            config.kafka, f"restore-{uuid.uuid4().hex}", **{"enable.auto.commit": False}
        )
    )
    latest: dict[bytes, bytes] = {}
    try:
        tp = TopicPartition(topic, partition)
        low, high = consumer.get_watermark_offsets(tp, timeout=config.kafka.timeout_s)
        if high <= low:
            return latest
        consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        position = low
        while position < high:
            for message in consumer.consume(5000, timeout=1.0):
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
    finally:
        consumer.close()
    return latest
