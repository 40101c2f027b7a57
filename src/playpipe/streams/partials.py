"""Partial windows: what one input partition knows of a window, mergeable across partitions.

A view lives on one partition of ``events``, so each aggregator partition sees a disjoint
set of views. Its window accumulators (``rollup.Acc`` per fine dimension key) add up across
partitions exactly — percentiles included, since they carry the startup times. Each
partition publishes the accumulators of every window it closes or corrects as a
:class:`Partial` keyed by window; the merger (``playpipe.streams.merger``) adds them up and
computes the window metrics of every dimension set.

``revision`` of a partial counts the partials of that window its partition published,
this one included (1 for the first); the count is part of the checkpointed state. A restarted
partition replays from its checkpoint and may publish a window fewer times than the run that
crashed did after that checkpoint (its advances jump further), so on restore it first reads
back what that run published (:func:`published_since`) and continues above it
(``WindowStore.owe``): a partition's revisions of a window only grow, so the merger can keep
the highest, and the merged revision (the sum over partitions) grows with every partial.
"""

from __future__ import annotations

import time
import uuid

import msgspec
from confluent_kafka import Consumer, KafkaException, TopicPartition

from playpipe.config import Config
from playpipe.kafka.settings import consumer_config
from playpipe.streams.aggregation import Aggregation
from playpipe.streams.records import DimValue, Emitted
from playpipe.streams.rollup import Acc

FineKey = list[DimValue | None]


class Partial(msgspec.Struct, array_like=True):
    """One window's accumulators from one source partition."""

    window: str
    size_ms: int
    start_ms: int
    source: int
    revision: int
    fine_names: list[str]
    accs: list[tuple[FineKey, Acc]]

    def key(self) -> bytes:
        return f"{self.window}|{self.start_ms}".encode()


class _Head(msgspec.Struct, array_like=True, forbid_unknown_fields=False):
    """The first fields of a :class:`Partial` (reading back revisions skips the rest)."""

    window: str
    size_ms: int
    start_ms: int
    source: int
    revision: int


encoder = msgspec.msgpack.Encoder()
decoder = msgspec.msgpack.Decoder(Partial)
_head_decoder = msgspec.msgpack.Decoder(_Head)


def partials_of(agg: Aggregation, emitted: Emitted, source: int) -> list[Partial]:
    """The partials of every window that ``emitted`` closed or corrected.

    Read from the windows that advance released, not from the open ones: when the watermark
    jumps (a backlog after a restart, a long silence), one advance can correct a window and
    make it final, which removes it from the store; its correction must still go out.
    """
    store = agg._windows  # the package's own window store
    index = {name: si for si, name in enumerate(store.names)}
    touched = {(index[r.window], r.window_start_ms) for r in emitted.windows}
    touched.update(store.republish)
    out = []
    for si, start in sorted(touched):
        window = store.released.get((si, start))
        if window is None:
            window = store.republish.get((si, start))
        if window is None:
            window = store.windows[si].get(start)
        if window is None:
            continue
        accs = [(list(key), acc) for key, acc in window.accs.items()]
        revision = store.next_revision(si, start)
        out.append(
            Partial(
                store.names[si],
                store.sizes[si],
                start,
                source,
                revision,
                list(store.fine_names),
                accs,
            )
        )
    store.forget_final()
    return out


def published_since(
    config: Config, topic: str, since_ms: int, sources: set[int]
) -> dict[int, dict[tuple[str, int], int]]:
    """The highest revision of each window the given sources published since ``since_ms``
    (the partials' timestamps): ``{source: {(window name, start): revision}}``."""
    found: dict[int, dict[tuple[str, int], int]] = {s: {} for s in sources}
    consumer = Consumer(
        consumer_config(
            config.kafka, f"readback-{uuid.uuid4().hex}", **{"enable.auto.commit": False}
        )
    )
    try:
        metadata = consumer.list_topics(topic, timeout=config.kafka.timeout_s).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return found
        query = [TopicPartition(topic, p, since_ms) for p in sorted(metadata.partitions)]
        positions: dict[int, int] = {}
        ends: dict[int, int] = {}
        for tp in consumer.offsets_for_times(query, timeout=config.kafka.timeout_s):
            if tp.offset < 0:  # nothing at or after since_ms
                continue
            _low, high = consumer.get_watermark_offsets(tp, timeout=config.kafka.timeout_s)
            if tp.offset < high:
                positions[tp.partition], ends[tp.partition] = tp.offset, high
        if not ends:
            return found
        # All partitions at once: reading them one by one waits out a consume timeout each.
        consumer.assign([TopicPartition(topic, p, o) for p, o in positions.items()])
        left = sum(ends[p] - positions[p] for p in ends)
        stalled_since = time.monotonic()
        while left > 0:
            messages = consumer.consume(min(1000, left), timeout=1.0)
            if messages:
                stalled_since = time.monotonic()
            elif time.monotonic() - stalled_since > config.kafka.timeout_s:
                raise KafkaException(f"reading back {topic} stalled with {left} records left")
            for message in messages:
                partition = message.partition()
                if message.error() is not None or partition not in ends:
                    continue
                position = message.offset() + 1
                left -= max(0, min(position, ends[partition]) - positions[partition])
                positions[partition] = max(positions[partition], position)
                value = message.value()
                if value is None or message.offset() >= ends[partition]:
                    continue
                try:
                    head = _head_decoder.decode(value)
                except msgspec.DecodeError:
                    continue
                if head.source in found:
                    key = (head.window, head.start_ms)
                    seen = found[head.source]
                    seen[key] = max(seen.get(key, -1), head.revision)
    finally:
        consumer.close()
    return found
