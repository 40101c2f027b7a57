"""The window merger: partials from every partition → final window metrics per dimension set.

Consumes ``<prefix>.aggregator.partials`` (keyed by window, so all partials of one window
meet in one place), keeps the latest partial per source partition, and after each round
emits the windows whose merged metrics changed to ``<prefix>.metrics.<window>``, keyed by
``WindowResult.key()``. The merged ``revision`` is the sum of the partials' revisions, which
never go back, also after a restart (``playpipe.streams.partials``), so a correction always
carries a higher revision than what it replaces. A key that no partial holds any more (a
restarted partition republished the window without it) is emitted once more, empty.

State is rebuilt on start by re-reading the last ``rewind_s`` seconds of partials (by
timestamp): the merger needs no store of its own.

A window is forgotten only once every source partition still sending has moved past it by
``late_grace + grace + the longest window``: while a backlog is caught up, partitions are
read minutes apart in event time, and a window dropped because the fastest partition moved
on would come back holding only the slower partitions' partials, replacing the complete
result. How far a source has moved is judged per partition of the partials topic, from the
partials read there: a source publishes the partials of one advance in window order, but
spread over several partitions, which are read in no particular order; after a jump of the
watermark one partition can bring a source's new windows before another brings that same
source's last correction of an old one (a source not heard from yet in a partition counts
there with its slowest one). A source silent for ``idle_s`` (wall time; a partition without
events) no longer holds windows back. Neither does, for the first ``idle_s`` after the
merger started, a source not heard from yet: while a backlog is caught up, one partition's
first windows may close long after the others sent theirs (the sources are the partitions
of ``<prefix>.events``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import msgspec
from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from playpipe import telemetry
from playpipe.config import Config
from playpipe.kafka.topics import topic_name
from playpipe.log import get_logger
from playpipe.streams.aggsettings import AggregationSettings
from playpipe.streams.partials import Partial, decoder
from playpipe.streams.records import DimValue, WindowResult
from playpipe.streams.rollup import Acc, compute
from playpipe.streams.runner import Output

log = get_logger("merger")
STAGE = "merger"
_json = msgspec.json.Encoder()


class _Merged:
    __slots__ = ("emitted", "partition", "parts")

    def __init__(self, partition: int) -> None:
        self.partition = partition  # of the partials topic, where this window's partials are
        self.parts: dict[int, Partial] = {}
        self.emitted: dict[str, WindowResult] = {}


class WindowMerger:
    """The stage. Deterministic: the same partials give the same outputs."""

    name = STAGE

    def __init__(
        self,
        config: Config,
        settings: AggregationSettings,
        rewind_s: float = 900.0,
        idle_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.input_topic = topic_name(config, "aggregator.partials")
        self.sets = [list(names) for names in settings.dimension_sets]
        self.keep_ms = settings.late_grace_ms + settings.grace_ms + max(settings.window_sizes_ms)
        self.rewind_s = rewind_s
        self.windows: dict[tuple[str, int], _Merged] = {}
        self._dirty: set[tuple[str, int]] = set()
        self._offsets: dict[tuple[str, int], int] = {}
        self._consumer: Consumer | None = None
        self._newest = 0
        self.idle_s = idle_s
        self._clock = clock
        # newest window start seen per (partials partition, source)
        self._source_newest: dict[tuple[int, int], int] = {}
        self._source_seen: dict[int, float] = {}  # when each source last sent (clock)
        self.sources: int | None = None
        """How many sources send partials (the events topic's partitions), when known."""
        self._since: float | None = None  # when the first partial came (clock)

    def bind(self, consumer: Consumer) -> None:
        self._consumer = consumer
        events = topic_name(self.config, "events")
        try:
            topic = consumer.list_topics(events, timeout=10).topics.get(events)
        except KafkaException as exc:
            log.warning("sources.unknown", topic=events, error=str(exc))
            return
        if topic is not None and topic.error is None and topic.partitions:
            self.sources = len(topic.partitions)

    def process(self, messages: Sequence[Message]) -> list[Output]:
        for message in messages:
            self._offsets[(message.topic(), message.partition())] = message.offset() + 1
            value = message.value()
            if value is None:
                continue
            try:
                partial = decoder.decode(value)
            except msgspec.DecodeError:
                telemetry.errors.labels(STAGE, "decode").inc()
                continue
            key = (partial.window, partial.start_ms)
            merged = self.windows.get(key)
            if merged is None:
                merged = self.windows[key] = _Merged(message.partition())
            old = merged.parts.get(partial.source)
            if old is not None and old.revision >= partial.revision:
                continue  # a replay of something already merged
            merged.parts[partial.source] = partial
            self._dirty.add(key)
            self._newest = max(self._newest, partial.start_ms)
            where = (message.partition(), partial.source)
            self._source_newest[where] = max(
                self._source_newest.get(where, partial.start_ms), partial.start_ms
            )
            self._source_seen[partial.source] = self._clock()
        return self._emit()

    def _emit(self) -> list[Output]:
        outputs = []
        for key in sorted(self._dirty):
            merged = self.windows[key]
            for result_key, result in self._results(merged):
                topic = topic_name(self.config, f"metrics.{result.window}")
                outputs.append(Output(topic, result_key.encode(), _json.encode(result)))
        self._dirty.clear()
        self._evict()
        return outputs

    def _results(self, merged: _Merged) -> list[tuple[str, WindowResult]]:
        """The results of every key whose merged value changed, with their keys."""
        parts = list(merged.parts.values())
        first = parts[0]
        names = first.fine_names
        by_fine: dict[tuple[DimValue | None, ...], list[Acc]] = {}
        for part in parts:
            for fine, acc in part.accs:
                by_fine.setdefault(tuple(fine), []).append(acc)
        revision = sum(p.revision for p in parts)
        out = []
        current: set[str] = set()
        for dims in self.sets:
            index = [names.index(n) for n in dims]
            groups: dict[tuple[DimValue | None, ...], list[Acc]] = {}
            for fine_key, accs in by_fine.items():
                groups.setdefault(tuple(fine_key[i] for i in index), []).extend(accs)
            for values, accs in sorted(groups.items(), key=lambda kv: repr(kv[0])):
                dimensions = dict(zip(dims, values, strict=True))
                result = compute(
                    first.window, first.size_ms, first.start_ms, dimensions, accs, None
                )
                assert result is not None
                result_key = result.key()  # built once: a string per key and window
                current.add(result_key)
                if self._changed(merged, result_key, result, revision):
                    out.append((result_key, result))
        # A key no partial holds any more (a source republished the window without it,
        # after a restart) is emitted once more, with nothing in it.
        for result_key, previous in list(merged.emitted.items()):
            if result_key not in current:
                empty = compute(
                    first.window, first.size_ms, first.start_ms, previous.dimensions, [Acc()], None
                )
                assert empty is not None
                if self._changed(merged, result_key, empty, revision):
                    out.append((result_key, empty))
        return out

    @staticmethod
    def _changed(merged: _Merged, result_key: str, result: WindowResult, revision: int) -> bool:
        """Record ``result`` with ``revision`` unless it equals what was emitted before."""
        previous = merged.emitted.get(result_key)
        if previous is not None:
            result.revision = previous.revision
            if result == previous:  # the same but for the revision
                return False
        result.revision = revision
        merged.emitted[result_key] = result
        return True

    def _evict(self) -> None:
        now = self._clock()
        if self._since is None:
            self._since = now
        if (
            self.sources is not None
            and now - self._since < self.idle_s
            and len(self._source_seen) < self.sources
        ):
            return  # a source not heard from yet may still send its first windows
        sending = {s for s, seen in self._source_seen.items() if now - seen < self.idle_s}
        if not sending:
            horizons: dict[int, int] = {}
            default = self._newest - self.keep_ms
        else:
            # A sending source not heard from yet in a partition counts with its slowest one.
            slowest_of: dict[int, int] = {}
            for (_, source), newest in self._source_newest.items():
                slowest_of[source] = min(slowest_of.get(source, newest), newest)
            partitions = {p for p, _ in self._source_newest}
            horizons = {
                p: min(self._source_newest.get((p, s), slowest_of[s]) for s in sending)
                - self.keep_ms
                for p in partitions
            }
            default = min(slowest_of[s] for s in sending) - self.keep_ms
        for key in [
            k
            for k, merged in self.windows.items()
            if k[1] < horizons.get(merged.partition, default)
        ]:
            del self.windows[key]

    def tick(self, now_s: float) -> list[Output]:
        return []

    def safe_offsets(self) -> dict[tuple[str, int], int]:
        return dict(self._offsets)

    def assigned(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """Rewind ``rewind_s`` seconds so the merged state is rebuilt from recent partials."""
        if self._consumer is None or not partitions:
            return {}
        since_ms = int((time.time() - self.rewind_s) * 1000)
        query = [TopicPartition(t, p, since_ms) for t, p in partitions]
        for attempt in range(5):
            try:
                found = self._consumer.offsets_for_times(query, timeout=10)
                break
            except KafkaException as exc:  # e.g. leadership still moving on a new topic
                log.warning("rewind.retry", attempt=attempt + 1, error=str(exc))
                time.sleep(0.5 * (attempt + 1))
        else:
            log.warning("rewind.skipped", why="offsets by time unavailable; resuming from commits")
            return {}
        return {(tp.topic, tp.partition): tp.offset for tp in found if tp.offset >= 0}

    def revoked(self, partitions: list[tuple[str, int]]) -> None:
        for tp in partitions:
            self._offsets.pop(tp, None)
