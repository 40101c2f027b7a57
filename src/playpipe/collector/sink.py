"""Hand batches to Kafka, or to the local spool when Kafka does not acknowledge in time.

A batch is answered 202 only after one of two things happened to every record of it: Kafka
acknowledged it (``acks=all``), or it was fsynced to the spool. Rules:

- While the spool holds anything, new batches are appended to it too, so a view's events
  stay in order and a recovering Kafka is not raced by new traffic.
- A batch Kafka does not acknowledge within ``produce_timeout_ms`` (the producer's delivery
  timeout) is spooled whole. Kafka may still have written part of it: downstream stages drop
  duplicates by ``event_id`` (at-least-once).
- The replayer produces the oldest sealed spool segment, waits for every acknowledgement,
  deletes the segment, and goes on; while Kafka stays away it retries with back-off.
- Concurrent requests share fsyncs: one writer thread appends everything queued, fsyncs once
  and releases all their waiters (group commit).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from confluent_kafka import KafkaError, Producer

from playpipe.collector import metrics
from playpipe.collector.spool import Spool, SpoolFullError, SpoolRecord
from playpipe.log import get_logger

log = get_logger("collector")

Header = tuple[str, bytes]
SWEEP_INTERVAL_S = 0.5


@dataclass(slots=True)
class OutRecord:
    """One message to produce."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[Header] = field(default_factory=list)


class _Pending:
    """Counts a batch's delivery reports and resolves its future once all arrived.

    Delivery reports are served by ``producer.poll()`` on the event loop's own thread, so the
    callback resolves the future directly: no thread hand-off, no GIL ping-pong per batch.
    The callback runs once per message, so it only counts; metrics are updated once per
    batch. ``sent_events_total`` counts the messages of fully acknowledged batches (a batch
    with a failure is spooled whole and counted when the replay sends it).
    """

    __slots__ = ("deadline", "failed", "future", "remaining", "started", "topics")

    def __init__(self, count: int, loop: asyncio.AbstractEventLoop) -> None:
        self.remaining = count
        self.failed: KafkaError | None = None
        self.started = time.monotonic()
        self.deadline = float("inf")
        self.future: asyncio.Future[None] = loop.create_future()
        self.topics: dict[str, int] = {}

    def on_delivery(self, err: KafkaError | None, msg: Any) -> None:
        if err is not None:
            self.failed = err
        self.remaining -= 1
        if self.remaining == 0:
            self._done()

    def _done(self) -> None:
        metrics.produce_latency.observe(time.monotonic() - self.started)
        if self.failed is None:
            for topic, count in self.topics.items():
                _sent_counter(topic).inc(count)
        _resolve(self.future)


@functools.cache
def _sent_counter(topic: str) -> Any:
    return metrics.sent_events.labels(metrics.COMPONENT, topic)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _GroupWriter:
    """A thread that appends queued batches to the spool with one fsync per round."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self._queue: list[
            tuple[list[SpoolRecord], asyncio.Future[None], asyncio.AbstractEventLoop]
        ] = []
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="spool-writer", daemon=True)
        self._thread.start()

    async def append(self, records: list[SpoolRecord]) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            self._queue.append((records, future, loop))
            self._cond.notify()
        await future

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue and self._closed:
                    return
                round_, self._queue = self._queue, []
            self._write(round_)

    def _write(
        self,
        round_: list[tuple[list[SpoolRecord], asyncio.Future[None], asyncio.AbstractEventLoop]],
    ) -> None:
        # All or nothing per request: a request whose records do not fit gets SpoolFullError.
        Waiter = tuple[list[SpoolRecord], asyncio.Future[None], asyncio.AbstractEventLoop]
        accepted: list[Waiter] = []
        refused: list[tuple[Waiter, Exception]] = []
        for item in round_:
            try:
                self.spool.append(item[0], sync=False)
                accepted.append(item)
            except (SpoolFullError, OSError) as error:
                refused.append((item, error))
        try:
            self.spool.sync()
        except OSError as sync_error:
            refused.extend((item, sync_error) for item in accepted)
            accepted = []
        for _, future, loop in accepted:
            loop.call_soon_threadsafe(_resolve, future)
        for (_, future, loop), problem in refused:
            loop.call_soon_threadsafe(_fail, future, problem)
        metrics.spool_bytes.set(self.spool.size_bytes)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=10)


def _fail(future: asyncio.Future[None], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


_raw_list = msgspec.json.Decoder(list[msgspec.Raw])


def _event_count(record: OutRecord) -> int:
    """Events in a record: a JSON array holds one view's events, anything else counts one."""
    if record.value[:1] != b"[":
        return 1
    try:
        return len(_raw_list.decode(record.value))
    except msgspec.DecodeError:
        return 1


def _to_spool(records: Sequence[OutRecord]) -> list[SpoolRecord]:
    return [SpoolRecord(r.topic, r.key, r.value, list(r.headers)) for r in records]


class KafkaSink:
    """The collector's durable hand-off: Kafka first, the spool when Kafka is away."""

    def __init__(
        self,
        producer_config: dict[str, Any],
        spool_dir: Path,
        spool_max_bytes: int,
        produce_timeout_s: float,
    ) -> None:
        self.timeout_s = produce_timeout_s
        config = dict(producer_config)
        config["delivery.timeout.ms"] = int(produce_timeout_s * 1000)
        config.setdefault("request.timeout.ms", min(30_000, int(produce_timeout_s * 1000)))
        self.producer = Producer(config)
        self.spool = Spool(spool_dir, max_bytes=spool_max_bytes)
        self.writer = _GroupWriter(self.spool)
        self._waiting: set[_Pending] = set()
        self._wake = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None
        self._replayer: asyncio.Task[None] | None = None
        self.kafka_ok = True
        metrics.spool_bytes.set(self.spool.size_bytes)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Start replaying the spool (call from the event loop)."""
        loop = asyncio.get_running_loop()
        self._poller = loop.create_task(self._poll_forever())
        self._replayer = loop.create_task(self._replay_forever())

    async def close(self, drain_s: float = 10.0) -> None:
        """Stop replaying, flush the producer, stop threads; unacknowledged work stays spooled."""
        for task in (self._replayer, self._poller):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await asyncio.to_thread(self.producer.flush, drain_s)
        self.writer.close()
        self.spool.close()

    async def _poll_forever(self) -> None:
        """Serve delivery reports on this loop: every millisecond while batches wait for them,
        and at once when a new batch starts waiting (``_wake``)."""
        sweep_at = time.monotonic() + SWEEP_INTERVAL_S
        while True:
            served = self.producer.poll(0)
            if self._waiting:
                now = time.monotonic()
                if now >= sweep_at:
                    sweep_at = now + SWEEP_INTERVAL_S
                    self._expire(now)
                await asyncio.sleep(0 if served else 0.001)
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.05)

    def _expire(self, now: float) -> None:
        # The producer reports every message within delivery.timeout.ms, success or error;
        # this is the safety net should a report never come.
        for pending in [p for p in self._waiting if p.deadline <= now]:
            pending.failed = pending.failed or KafkaError(KafkaError._MSG_TIMED_OUT)
            _resolve(pending.future)

    async def _await_acks(self, pending: _Pending) -> None:
        # One set entry per batch instead of a timer per batch: the poller sweeps deadlines.
        pending.deadline = pending.started + self.timeout_s + 2.0
        self._waiting.add(pending)
        self._wake.set()
        try:
            await pending.future
        finally:
            self._waiting.discard(pending)

    # -- delivery -------------------------------------------------------------------------
    @property
    def spooling(self) -> bool:
        return self.spool.pending()

    @property
    def spool_full(self) -> bool:
        return self.spool.size_bytes >= self.spool.max_bytes

    async def deliver(self, records: Sequence[OutRecord]) -> str:
        """Make ``records`` durable; return ``"kafka"`` or ``"spool"``.

        Raises ``SpoolFullError`` (or ``OSError`` from the disk) when neither could take them.
        """
        if not records:
            return "kafka"
        if self.spooling or not self.kafka_ok:
            await self._spool(records)
            return "spool"
        pending = _Pending(len(records), asyncio.get_running_loop())
        produced = self._produce(records, pending)
        if produced < len(records):
            # The producer's queue is full: Kafka is not keeping up. Spool the whole batch.
            self.kafka_ok = False
            await self._spool(records)
            return "spool"
        await self._await_acks(pending)
        if pending.failed is not None:
            self.kafka_ok = False
            metrics.errors.labels(metrics.COMPONENT, "produce").inc()
            log.warning(
                "kafka.unacknowledged",
                events=len(records),
                error=pending.failed.str(),
                action="spooled",
            )
            await self._spool(records)
            return "spool"
        return "kafka"

    def _produce(self, records: Sequence[OutRecord], pending: _Pending) -> int:
        produce, on_delivery, topics = self.producer.produce, pending.on_delivery, pending.topics
        for done, record in enumerate(records):
            try:
                produce(
                    record.topic,
                    record.value,
                    record.key,
                    headers=record.headers or None,
                    on_delivery=on_delivery,
                )
            except BufferError:
                pending.remaining -= len(records) - done
                return done
            topics[record.topic] = topics.get(record.topic, 0) + 1
        return len(records)

    async def _spool(self, records: Sequence[OutRecord]) -> None:
        await self.writer.append(_to_spool(records))
        metrics.spooled_events.inc(sum(map(_event_count, records)))

    # -- replay ---------------------------------------------------------------------------
    async def _replay_forever(self) -> None:
        backoff = 0.5
        while True:
            try:
                replayed = await self.replay_once()
            except Exception:  # keep replaying whatever went wrong once
                log.error("spool.replay_failed", exc=True)
                replayed = False
            if replayed:
                backoff = 0.5
                continue
            await asyncio.sleep(backoff if not self.kafka_ok else 0.2)
            backoff = min(backoff * 2, 5.0) if not self.kafka_ok else 0.5

    async def replay_once(self) -> bool:
        """Produce the oldest spool segment and delete it once acknowledged; True if one went."""
        segment = await asyncio.to_thread(self._next_segment)
        if segment is None:
            if self.spool.size_bytes == 0:
                self.kafka_ok = True
            return False
        torn_before = self.spool.stats.torn_records
        records = await asyncio.to_thread(self.spool.read_segment, segment)
        metrics.torn_records.inc(self.spool.stats.torn_records - torn_before)
        outs = [OutRecord(r.topic, r.key, r.value, list(r.headers)) for r in records]
        pending = _Pending(len(outs), asyncio.get_running_loop())
        if outs:
            if self._produce(outs, pending) < len(outs):
                self.kafka_ok = False
                return False
            await self._await_acks(pending)
        if pending.failed is not None:
            self.kafka_ok = False
            log.warning("spool.replay_waiting", segment=segment.name, error=pending.failed.str())
            return False
        await asyncio.to_thread(self.spool.delete_segment, segment)
        metrics.replayed_events.inc(sum(map(_event_count, outs)))
        metrics.spool_bytes.set(self.spool.size_bytes)
        log.info(
            "spool.replayed",
            segment=segment.name,
            events=len(outs),
            left_bytes=self.spool.size_bytes,
        )
        self.kafka_ok = True
        return True

    def _next_segment(self) -> Path | None:
        segments = self.spool.sealed_segments()
        if not segments and self.spool.active_has_data():
            self.spool.seal()
            segments = self.spool.sealed_segments()
        return segments[0] if segments else None
