"""The aggregator: dictionary events → view records and per-partition window partials.

One :class:`~playpipe.streams.aggregation.Aggregation` per input partition (a view lives on
one partition), driven by that partition's event-time watermark: the highest ``event_ts``
seen there. A partition that receives nothing for ``idle_s`` of wall time has its watermark
moved on by the wall time that passed, so windows still close when traffic stops (the only
place a clock is read, and only to decide when to close, never what a metric is). Silence
counts only while the standardizer is known to have nothing pending for us
(``playpipe.streams.upstream``): a stopped standardizer or a backlog is not idleness.

Outputs: view records to ``<prefix>.views`` keyed by view id; window partials to
``<prefix>.aggregator.partials`` (merged by ``playpipe.streams.merger``). State is
checkpointed to ``<prefix>.aggregator.state`` every ``checkpoint_s`` and input offsets are
committed only up to the last checkpoint, so a ``kill -9`` resumes from the checkpoint and
re-emits the same records (keys make them idempotent).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec
from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from playpipe import telemetry
from playpipe.config import Config
from playpipe.kafka.topics import topic_name
from playpipe.log import get_logger
from playpipe.streams import changelog, slim
from playpipe.streams.aggregation import Aggregation
from playpipe.streams.aggsettings import AggregationSettings
from playpipe.streams.partials import encoder as partial_encoder
from playpipe.streams.partials import partials_of, published_since
from playpipe.streams.records import Emitted
from playpipe.streams.runner import Output
from playpipe.streams.slim import AnyEvent
from playpipe.streams.standardizer import standardizer_group
from playpipe.streams.upstream import KafkaProbe, UpstreamClock

log = get_logger("aggregator")
STAGE = "aggregator"
_json = msgspec.json.Encoder()
NEVER = -(2**62)
READ_BACK_MARGIN_MS = 30_000
"""Partials are read back from this long before a restored checkpoint was written."""
READ_BACK_UNCHECKPOINTED_MS = 900_000
"""…and over this long when a partition has no checkpoint yet (the merger's rewind)."""
READ_BACK_ATTEMPTS = 5


@dataclass
class _Partition:
    agg: Aggregation
    max_ts: int = NEVER
    next_offset: int | None = None
    checkpointed: int | None = None
    last_event_wall: float = 0.0
    idle_base_ts: int | None = None


class Aggregator:
    """The stage (see the module docstring)."""

    name = STAGE

    def __init__(
        self,
        config: Config,
        settings: AggregationSettings,
        checkpoint_s: float = 2.0,
        idle_s: float = 3.0,
        idle_speed: float = 1.0,
    ) -> None:
        self.config = config
        self.settings = settings
        self.input_topic = topic_name(config, "events")
        self.views_topic = topic_name(config, "views")
        self.partials_topic = topic_name(config, "aggregator.partials")
        self.state_topic = topic_name(config, "aggregator.state")
        self.checkpoint_s = checkpoint_s
        self.idle_s = idle_s
        self.idle_speed = idle_speed
        self.parts: dict[int, _Partition] = {}
        self._last_checkpoint = 0.0
        self._settled = True
        """No output of the current state is unacknowledged (a round has not begun)."""
        self._consumer: Consumer | None = None
        self.upstream_topic = topic_name(config, "beacons.raw")
        self.upstream_group = standardizer_group(config)
        self.upstream = UpstreamClock(None)
        """Where silence is known to be real; probes Kafka once bound to a consumer."""
        self._late = telemetry.discarded_events.labels("aggregator-late")
        self._duplicates = telemetry.discarded_events.labels("aggregator-duplicates")

    def bind(self, consumer: Consumer) -> None:
        self._consumer = consumer
        if self.upstream.probe is None:
            self.upstream = UpstreamClock(
                KafkaProbe(self.config, self.upstream_topic, self.upstream_group, self.input_topic)
            )

    def _position(self, partition: int, part: _Partition) -> int | None:
        """The next input offset of ``partition`` (the consumer's, before any message)."""
        if part.next_offset is not None or self._consumer is None:
            return part.next_offset
        try:
            (tp,) = self._consumer.position([TopicPartition(self.input_topic, partition)])
        except KafkaException:
            return None
        return tp.offset if tp.offset >= 0 else None

    # -- processing -----------------------------------------------------------------------
    def process(self, messages: Sequence[Message]) -> list[Output]:
        now = time.monotonic()
        checkpoints = self._checkpoint(now)
        self._settled = False
        # Events are decoded slim (playpipe.streams.slim: the standardizer validated them)
        # and handed over per partition: a view lives on one, so only the order within a
        # partition matters.
        batches: dict[int, list[AnyEvent]] = {}
        last: dict[int, int] = {}
        decode = slim.decode
        bad = 0
        first: tuple[int, int, str] = (-1, -1, "")
        for message in messages:
            partition = message.partition()
            batch = batches.get(partition)
            if batch is None:
                if partition not in self.parts:  # not ours any more (revoked this round)
                    continue
                batch = batches[partition] = []
            last[partition] = message.offset()
            try:
                batch.append(decode(message.value()))
            except (ValueError, TypeError) as exc:  # not an event, or a tombstone (None)
                if not bad:
                    first = (partition, message.offset(), str(exc))
                bad += 1
        if bad:
            telemetry.errors.labels(STAGE, "decode").inc(bad)
            # The records stay in the events topic: the line says where to look.
            log.warning(
                "events.refused",
                count=bad,
                partition=first[0],
                offset=first[1],
                error=first[2],
            )
        outputs = checkpoints
        for partition in sorted(batches):
            part = self.parts[partition]
            part.next_offset = last[partition] + 1
            events = batches[partition]
            if not events:
                continue
            part.agg.add_many(events)
            ts = max(e.event_ts if e.event_ts is not None else e.client_ts for e in events)
            if ts > part.max_ts:
                part.max_ts = ts
            part.last_event_wall = now
            part.idle_base_ts = None
            outputs += self._emit(part.agg.advance(part.max_ts), part.agg, partition)
        return outputs

    def _emit(self, emitted: Emitted, agg: Aggregation, partition: int) -> list[Output]:
        outputs = [
            Output(self.views_topic, record.view_id.encode(), _json.encode(record))
            for record in emitted.views
        ]
        outputs += [
            Output(self.partials_topic, p.key(), partial_encoder.encode(p))
            for p in partials_of(agg, emitted, partition)
        ]
        self._late.inc(emitted.late_events)
        self._duplicates.inc(emitted.duplicates)
        return outputs

    def tick(self, now_s: float) -> list[Output]:
        outputs = self._checkpoint(now_s)  # (when no messages came this round)
        self._settled = False
        if any(now_s - p.last_event_wall > self.idle_s for p in self.parts.values()):
            self.upstream.poll(now_s, sorted(self.parts))
        for partition, part in sorted(self.parts.items()):
            idle = now_s - part.last_event_wall
            if part.max_ts <= NEVER or idle <= self.idle_s:
                continue
            # Silence counts only while nothing can still be on its way to this partition
            # (playpipe.streams.upstream): a stopped, restarting or lagging standardizer, or
            # our own backlog, is not idleness; the silence starts again once they caught up,
            # so the watermark then moves on smoothly from where it was.
            if not self.upstream.settled(partition, self._position(partition, part)):
                part.last_event_wall, part.idle_base_ts = now_s, None
                continue
            if part.idle_base_ts is None:
                part.idle_base_ts = part.max_ts
            watermark = part.idle_base_ts + int((idle - self.idle_s) * 1000 * self.idle_speed)
            outputs += self._emit(part.agg.advance(watermark), part.agg, partition)
        self._settled = True  # the runner flushes these outputs before the next round
        return outputs

    def _checkpoint(self, now_s: float) -> list[Output]:
        """Checkpoints, if due, of a state whose every output Kafka already acknowledged.

        Called first in a round only: a snapshot taken after this round's work could land
        in the changelog while the outputs of that work are lost in a crash (they go to
        other partitions, in no atomic order), and the restored state would believe them
        sent. Taken before, a lost checkpoint only means replaying a little more.
        """
        if not self._settled or now_s - self._last_checkpoint < self.checkpoint_s:
            return []
        self._last_checkpoint = now_s
        outputs: list[Output] = []
        for partition, part in sorted(self.parts.items()):
            if part.next_offset is not None and part.next_offset != part.checkpointed:
                outputs += changelog.checkpoint(
                    part.agg, self.state_topic, partition, part.next_offset
                )
                part.checkpointed = part.next_offset
        return outputs

    # -- offsets and rebalancing ----------------------------------------------------------
    def safe_offsets(self) -> dict[tuple[str, int], int]:
        return {
            (self.input_topic, p): part.checkpointed
            for p, part in self.parts.items()
            if part.checkpointed is not None
        }

    def assigned(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        seeks = {}
        since_ms: int | None = None
        for topic, partition in partitions:
            began = time.monotonic()
            agg, offset, stamp = changelog.restore(
                self.config, self.settings, self.state_topic, partition
            )
            # Read back from a little before the oldest checkpoint (the timestamps of the
            # checkpoint and of later partials come from one clock, the earlier run's), or
            # over the merger's rewind if a partition has none yet.
            if stamp is None:
                start = int(time.time() * 1000) - READ_BACK_UNCHECKPOINTED_MS
            else:
                start = stamp - READ_BACK_MARGIN_MS
            since_ms = start if since_ms is None else min(since_ms, start)
            part = _Partition(agg, max_ts=agg.watermark_ms, last_event_wall=time.monotonic())
            if offset is not None:
                part.next_offset = part.checkpointed = offset
                seeks[(topic, partition)] = offset
            self.parts[partition] = part
            log.info(
                "state.restored",
                partition=partition,
                open_views=agg.open_views,
                offset=offset if offset is not None else "committed",
                took_s=round(time.monotonic() - began, 2),
            )
        if since_ms is not None:
            self._read_back(since_ms, {partition for _, partition in partitions})
        return seeks

    def _read_back(self, since_ms: int, sources: set[int]) -> None:
        """What an earlier run of these partitions published after their checkpoints: those
        windows are published again, above the revisions it reached (``WindowStore.owe``)."""
        began = time.monotonic()
        for attempt in range(1, READ_BACK_ATTEMPTS + 1):
            try:
                found = published_since(self.config, self.partials_topic, since_ms, sources)
                break
            except KafkaException as exc:  # e.g. leadership still moving on a new topic
                if attempt < READ_BACK_ATTEMPTS:
                    log.warning("partials.read_back_retry", attempt=attempt, error=str(exc))
                    time.sleep(0.5 * attempt)
                    continue
                # Without it, a window the crashed run published after its checkpoint can
                # keep a value this run would have corrected: say so, and carry on.
                telemetry.errors.labels(STAGE, "read_back").inc()
                log.error("partials.read_back_failed", error=str(exc))
                return
        for source, windows in sorted(found.items()):
            part = self.parts.get(source)
            if part is not None and windows:
                part.agg.owe(windows)
        log.info(
            "partials.read_back",
            windows=sum(len(w) for w in found.values()),
            took_s=round(time.monotonic() - began, 2),
        )

    def revoked(self, partitions: list[tuple[str, int]]) -> None:
        for _, partition in partitions:
            self.parts.pop(partition, None)


def run_aggregator(
    config: Config,
    settings: AggregationSettings,
    install_signals: bool = True,
    idle_speed: float = 1.0,
) -> None:
    """Run the aggregator and the window merger side by side until SIGTERM/SIGINT."""
    import threading

    from playpipe.streams.merger import WindowMerger
    from playpipe.streams.runner import StreamRunner, tune_gc

    tune_gc()
    aggregator = Aggregator(config, settings, idle_speed=idle_speed)
    merger = WindowMerger(config, settings)
    prefix = config.topics.prefix
    runners = [
        StreamRunner(config, aggregator, f"{prefix}-aggregator", [aggregator.input_topic]),
        StreamRunner(config, merger, f"{prefix}-merger", [merger.input_topic], poll_timeout_s=0.05),
    ]
    if install_signals:
        runners[0].install_signal_handlers()
    threads = [threading.Thread(target=r.run, name=r.stage.name) for r in runners[1:]]
    for thread in threads:
        thread.start()
    try:
        runners[0].run()
    finally:
        for runner in runners[1:]:
            runner.stop.set()
        for thread in threads:
            thread.join(30)
