"""When is a silent input partition really silent? Ask the stage upstream.

The aggregator moves a silent partition's watermark on with the wall clock so that windows
close and silent views time out when traffic stops. Silence on the events topic alone proves
nothing: while the standardizer is down, restarting or rebalancing, the raw topic fills up
and the events topic stays quiet, and a wall-clock watermark would time out every open view
whose next beacons are waiting there.

So silence counts only while the upstream is *settled*: the latest probe found every raw
record written before it standardized (the standardizer's group committed past the raw
topic's end offsets read just before; it commits only after its events were acknowledged)
and the aggregator has consumed every event those records produced (its position is at the
events partition's end read after those committed offsets). While the standardizer is
stopped, restarting or behind, or the aggregator has a backlog, a silent partition's
silence starts again from zero at every tick; once both caught up it counts from there, so
the backlog is read before any silence is counted and the watermark moves on smoothly.
The *horizon* is the last probe time at which the upstream was caught up.

:class:`UpstreamClock` is the bookkeeping (pure); :class:`KafkaProbe` reads the offsets.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Protocol

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from playpipe.config import Config
from playpipe.kafka.settings import admin_config
from playpipe.log import get_logger

log = get_logger("aggregator")

__all__ = ["KafkaProbe", "Probe", "UpstreamClock"]


class Probe(Protocol):
    """Reads offsets; every method returns ``None`` when Kafka did not answer."""

    def upstream_ends(self) -> dict[int, int] | None:
        """End offset of each upstream (raw) partition."""
        ...

    def upstream_committed(self) -> dict[int, int] | None:
        """Committed offset of the upstream group per raw partition (absent: none)."""
        ...

    def input_ends(self, partitions: Iterable[int]) -> dict[int, int] | None:
        """End offset of each of these input (events) partitions."""
        ...


class UpstreamClock:
    """The horizon up to which silence is real, and the input ends read with it.

    ``poll(now)`` probes at most every ``every_s``: it samples the upstream end offsets,
    then the upstream group's committed offsets (advancing the horizon to the latest sample
    they cover), then the input partitions' end offsets. Without a probe (no Kafka: unit
    tests, a pure replay) the horizon is the present and every partition is caught up.
    """

    def __init__(self, probe: Probe | None, every_s: float = 0.5, keep: int = 1200) -> None:
        self.probe = probe
        self.every_s = every_s
        self.horizon = float("-inf")
        """Wall time (monotonic s) before which everything upstream reached this stage."""
        self.ends: dict[int, int] = {}
        """Input end offsets read after the committed offsets that set ``horizon``."""
        self._samples: deque[tuple[float, dict[int, int]]] = deque(maxlen=keep)
        self._last = float("-inf")
        self.current = False
        """Whether the latest probe found the upstream caught up (its sample covered)."""

    def poll(self, now: float, partitions: Iterable[int]) -> None:
        """Probe again if ``every_s`` passed since the last probe."""
        if self.probe is None:
            self.horizon = now
            return
        if now - self._last < self.every_s:
            return
        self._last = now
        self.current = False
        ends = self.probe.upstream_ends()
        if ends is not None:
            self._samples.append((now, ends))
        committed = self.probe.upstream_committed()
        if committed is None:
            return
        covered = None
        for sample in self._samples:  # offsets only grow: the covered ones come first
            if not _covers(committed, sample[1]):
                break
            covered = sample
        if covered is None:
            return
        inputs = self.probe.input_ends(partitions)
        if inputs is None:
            return  # the horizon moves only together with input ends read after it
        while self._samples and self._samples[0][0] <= covered[0]:
            self._samples.popleft()
        self.horizon = max(self.horizon, covered[0])
        self.ends = inputs
        self.current = covered[0] == now and ends is not None

    def caught_up(self, partition: int, position: int | None) -> bool:
        """Whether ``position`` is at the input end read with the horizon (unknown: no)."""
        if self.probe is None:
            return True
        end = self.ends.get(partition)
        if end is None:
            return False
        return (position if position is not None else 0) >= end

    def settled(self, partition: int, position: int | None) -> bool:
        """Whether, as of the latest probe, everything upstream reached ``partition`` and
        this stage has read it: silence there is real."""
        if self.probe is None:
            return True
        return self.current and self.caught_up(partition, position)


def _covers(committed: dict[int, int], ends: dict[int, int]) -> bool:
    return all(end <= 0 or committed.get(p, -1) >= end for p, end in ends.items())


class KafkaProbe:
    """Offsets of the raw topic, its consumer group (the standardizer's) and the input topic."""

    def __init__(
        self,
        config: Config,
        upstream_topic: str,
        upstream_group: str,
        input_topic: str,
        timeout_s: float = 2.0,
    ) -> None:
        self.admin = AdminClient(admin_config(config.kafka))
        self.upstream_topic = upstream_topic
        self.upstream_group = upstream_group
        self.input_topic = input_topic
        self.timeout_s = timeout_s
        self._partitions: list[int] | None = None

    def _upstream_partitions(self) -> list[int] | None:
        if self._partitions is None:
            try:
                meta = self.admin.list_topics(self.upstream_topic, timeout=self.timeout_s)
            except KafkaException:
                return None
            topic = meta.topics.get(self.upstream_topic)
            if topic is None or topic.error is not None:
                return [] if topic is not None and _unknown(topic.error) else None
            self._partitions = sorted(topic.partitions)
        return self._partitions

    def _ends(self, topic: str, partitions: Iterable[int]) -> dict[int, int] | None:
        request = {TopicPartition(topic, p): OffsetSpec.latest() for p in partitions}
        if not request:
            return {}
        try:
            futures = self.admin.list_offsets(request, request_timeout=self.timeout_s)
            return {tp.partition: f.result(self.timeout_s).offset for tp, f in futures.items()}
        except (KafkaException, TimeoutError) as exc:
            log.debug("upstream.probe_failed", topic=topic, error=str(exc))
            return None

    def upstream_ends(self) -> dict[int, int] | None:
        partitions = self._upstream_partitions()
        return None if partitions is None else self._ends(self.upstream_topic, partitions)

    def upstream_committed(self) -> dict[int, int] | None:
        partitions = self._upstream_partitions()
        if partitions is None:
            return None
        if not partitions:
            return {}
        request = ConsumerGroupTopicPartitions(
            self.upstream_group, [TopicPartition(self.upstream_topic, p) for p in partitions]
        )
        try:
            futures = self.admin.list_consumer_group_offsets(
                [request], request_timeout=self.timeout_s
            )
            result = futures[self.upstream_group].result(self.timeout_s)
        except (KafkaException, TimeoutError) as exc:
            log.debug("upstream.probe_failed", group=self.upstream_group, error=str(exc))
            return None
        return {
            tp.partition: tp.offset
            for tp in result.topic_partitions or ()
            if tp.error is None and tp.offset >= 0
        }

    def input_ends(self, partitions: Iterable[int]) -> dict[int, int] | None:
        return self._ends(self.input_topic, partitions)


def _unknown(error: object) -> bool:
    """Whether a topic's metadata error says it does not exist (no upstream at all)."""
    return isinstance(error, KafkaError) and error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART
