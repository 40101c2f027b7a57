"""``playpipe replay --from-raw --since T``: raw beacons mapped again into the events topic.

The collector keeps every beacon as received on ``<prefix>.beacons.raw`` (the wire format in
the ``playpipe.format`` header), so a corrected or new mapping can be applied to old data.
This reads the raw topic from the first record at or after ``since`` (Kafka record time,
which the collector sets when it receives the beacon) up to the end the topic had when the
replay started (or up to ``until``), maps each record with the current mappings exactly as
the standardizer does, and produces the events to ``<prefix>.events``.

Idempotence: every mapping derives ``event_id`` and ``seq`` from the beacon itself (the
client's id and sequence number, or the view, the source's event number or time and the
event's position), never from a counter of the process. Replaying records that were
already mapped produces the same ids, so the aggregator (by ``seq`` within a view) and
idempotent connectors (by ``event_id``) drop them; only what the mapping now makes
differently is new. Records that still cannot be mapped are counted by reason, not sent to
the invalid topic again (they are there already, from the first pass).

Mappings that keep per-view state (Mux deltas, first frame, the EPAS unit) start empty: a
``since`` in the middle of a view maps that view's later events without what came before.
Start a replay at a time no view was running, or accept that the first views are partial.
"""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from playpipe.config import Config
from playpipe.errors import KafkaUnavailableError, PlaypipeError
from playpipe.kafka.settings import consumer_config, producer_config
from playpipe.kafka.topics import topic_name
from playpipe.streams.standardizer import Standardizer

_AGO = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ReplayTimeError(PlaypipeError):
    """A ``--since``/``--until`` value that is not a time."""


def parse_time(text: str, now_ms: int | None = None) -> int:
    """Epoch ms from ``1732579200000``, ``2026-11-26T04:00:00Z`` or ``90m`` (before now)."""
    text = text.strip()
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if text.isdigit():
        return int(text)
    ago = _AGO.match(text)
    if ago:
        return now - int(float(ago.group(1)) * _UNIT_S[ago.group(2)] * 1000)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ReplayTimeError(
            f"{text!r} is not a time: give epoch milliseconds, an ISO 8601 time with its "
            "zone (2026-11-26T04:00:00Z) or a duration before now (90m, 2h, 1d)"
        ) from None
    if moment.tzinfo is None:
        raise ReplayTimeError(f"{text!r} has no time zone: add Z or +01:00")
    return int(moment.timestamp() * 1000)


@dataclass
class RawReplayReport:
    """What a replay did."""

    read: int = 0
    events: int = 0
    unmappable: Counter[str] = field(default_factory=Counter)


def _start_offsets(
    consumer: Consumer, topic: str, since_ms: int, timeout: float
) -> list[TopicPartition]:
    metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
    if metadata is None or metadata.error is not None:
        raise KafkaUnavailableError(f"The raw topic {topic} does not exist (nothing to replay).")
    wanted = [TopicPartition(topic, p, since_ms) for p in sorted(metadata.partitions)]
    return list(consumer.offsets_for_times(wanted, timeout=timeout))


def replay_raw(config: Config, since_ms: int, until_ms: int | None = None) -> RawReplayReport:
    """Map raw records from ``since_ms`` (to ``until_ms`` or the current end) into events."""
    timeout = config.kafka.timeout_s
    raw = topic_name(config, "beacons.raw")
    stage = Standardizer(config)
    group = f"{config.topics.prefix}-replay-raw-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(consumer_config(config.kafka, group, **{"enable.auto.commit": False}))
    producer = Producer(producer_config(config.kafka))
    report = RawReplayReport()
    failures: list[str] = []

    def delivered(err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            failures.append(str(err))

    try:
        starts = _start_offsets(consumer, raw, since_ms, timeout)
        ends: dict[int, int] = {}
        for tp in starts:
            _low, high = consumer.get_watermark_offsets(tp, timeout=timeout)
            if 0 <= tp.offset < high:
                ends[tp.partition] = high
        consumer.assign([tp for tp in starts if tp.partition in ends])
        idle_since = time.monotonic()
        while ends:
            batch = [m for m in consumer.consume(500, timeout=1.0) if m.error() is None]
            if batch:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > timeout:
                raise KafkaUnavailableError(
                    f"no record of {raw} partition(s) {sorted(ends)} for {timeout:.0f} s before "
                    f"their end; {report.events} event(s) were replayed (safe to run again)"
                )
            kept = []
            for message in batch:
                partition, offset = message.partition(), message.offset()
                if partition not in ends:
                    continue
                _kind, ts = message.timestamp()
                if until_ms is not None and ts > until_ms:
                    ends.pop(partition)
                    continue
                kept.append(message)
                if offset + 1 >= ends[partition]:
                    ends.pop(partition)
            report.read += len(kept)
            for out in stage.process(kept):
                if out.topic == stage.events_topic:
                    producer.produce(out.topic, out.value, out.key, on_delivery=delivered)
                    report.events += 1
                else:
                    reason = dict(out.headers).get("playpipe.reason", b"unknown")
                    report.unmappable[reason.decode("utf-8", "replace")[:120]] += 1
                producer.poll(0)
        left = producer.flush(timeout)
        if left or failures:
            raise KafkaUnavailableError(
                f"{left + len(failures)} replayed event(s) not acknowledged by Kafka "
                f"({'; '.join(failures[:3]) or 'flush timed out'}); run the replay again: "
                "its events have the same ids, so it is safe"
            )
    finally:
        consumer.close()
    return report
