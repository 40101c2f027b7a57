"""What the Kafka aggregation benchmark reads while an engine runs, from the outside.

* progress: a consumer group's committed offsets next to the topics' end offsets (admin API),
  the same way for both engines; the job is drained when the input topic and every internal
  topic the group consumes (playpipe's window partials, Quix Streams' repartition topic) are
  committed to their end;
* memory and CPU of the engine's process from ``/proc``;
* output records with their arrival time (wall clock), for the window-close lag.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

_TICK = os.sysconf("SC_CLK_TCK")


class Offsets:
    """Committed and end offsets of consumer groups."""

    def __init__(self, bootstrap: str) -> None:
        self.admin = AdminClient({"bootstrap.servers": bootstrap})

    def ends(self, topics: Iterable[str]) -> dict[tuple[str, int], int]:
        meta = self.admin.list_topics(timeout=10).topics
        tps = [
            TopicPartition(t, p) for t in topics if t in meta for p in sorted(meta[t].partitions)
        ]
        if not tps:
            return {}
        futures = self.admin.list_offsets({tp: OffsetSpec.latest() for tp in tps})
        return {(tp.topic, tp.partition): f.result().offset for tp, f in futures.items()}

    def committed(self, group: str) -> dict[tuple[str, int], int]:
        futures = self.admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])
        found = futures[group].result()
        return {(tp.topic, tp.partition): tp.offset for tp in found.topic_partitions or []}

    def progress(self, groups: list[str], source: str) -> tuple[int, bool]:
        """(input events committed, drained: every consumed topic committed to its end)."""
        committed: dict[tuple[str, int], int] = {}
        for group in groups:
            committed.update(self.committed(group))
        ends = self.ends({source} | {topic for topic, _ in committed})
        done = sum(max(0, committed.get(tp, 0)) for tp in ends if tp[0] == source)
        drained = all(max(0, committed.get(tp, 0)) >= end for tp, end in ends.items())
        return done, drained

    def stable(self, group: str) -> bool:
        """Whether the group has members with partitions assigned."""
        (future,) = self.admin.describe_consumer_groups([group]).values()
        try:
            desc = future.result()
        except Exception:
            return False
        return bool(desc.members) and any(m.assignment.topic_partitions for m in desc.members)


@dataclass
class Proc:
    """Memory and CPU of one process, from /proc."""

    pid: int

    def status(self, name: str) -> int:
        """A ``kB`` line of /proc/<pid>/status in bytes (VmRSS, VmHWM)."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) * 1024
        return 0

    def cpu_s(self) -> float:
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK


@dataclass
class Arrival:
    key: bytes
    value: dict[str, object]
    at: float
    """Wall time (s) the benchmark received it."""


@dataclass
class Collector:
    """Reads an output topic from its current end in a thread, noting arrival times."""

    bootstrap: str
    topic: str
    arrivals: list[Arrival] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": "bench-unused",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 10,
                "fetch.queue.backoff.ms": 10,
            }
        )
        meta = consumer.list_topics(self.topic, timeout=10).topics[self.topic]
        tps = []
        for p in sorted(meta.partitions):
            _, high = consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10)
            tps.append(TopicPartition(self.topic, p, high))
        consumer.assign(tps)
        self._thread = threading.Thread(target=self._run, args=(consumer,), daemon=True)
        self._thread.start()

    def _run(self, consumer: Consumer) -> None:
        try:
            while not self._stop.is_set():
                for msg in consumer.consume(500, timeout=0.05):
                    now = time.time()
                    if msg.error() is None and msg.value() is not None:
                        value = orjson.loads(msg.value())
                        self.arrivals.append(Arrival(msg.key() or b"", value, now))
        finally:
            consumer.close()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)


def read_all(bootstrap: str, topic: str) -> list[tuple[bytes, dict[str, object]]]:
    """Every record of ``topic`` from the start to its current end, in partition order."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "bench-unused", "enable.auto.commit": False}
    )
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        ends = {}
        for p in meta.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                ends[p] = high
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        out: list[tuple[bytes, dict[str, object]]] = []
        left = dict(ends)
        deadline = time.monotonic() + 300
        while left and time.monotonic() < deadline:
            for msg in consumer.consume(5000, timeout=1.0):
                err = msg.error()
                if err is not None:
                    if err.code() != KafkaError._PARTITION_EOF:
                        raise RuntimeError(err.str())
                    continue
                if msg.value() is not None:
                    out.append((msg.key() or b"", orjson.loads(msg.value())))
                p = msg.partition()
                if p in left and msg.offset() + 1 >= left[p]:
                    del left[p]
        return out
    finally:
        consumer.close()
