"""The loop of one connector process: consume, transform, batch, deliver, commit.

One consumer group per connector (``<prefix>-connector-<name>``), so a slow destination
never holds back another.

Delivery is pipelined: a due batch is prepared on the consumer's thread (``prepare``: CPU
work such as encoding) and handed to a writer thread, which writes it (retries and dead
letters included) and commits its offsets, while the consumer thread reads and prepares the
next one. At most one batch is in flight: the next waits for it. So offsets are committed
only after the destination acknowledged their batch and its dead letters are in Kafka, and
before the next batch is written: after a crash, at most the batch in flight was written
without its commit, and reading again starts where it started (what the Parquet connector's
file names rely on); destinations write idempotently where they can.

A revocation waits for the batch in flight (up to ``REVOKE_WAIT_S``) and its commit, so the
partitions' next owner does not write the same records beside ours.

While the consumer thread waits for the writer longer than a moment (retry backoff,
backpressure), the assigned partitions are paused and the consumer keeps polling, so the
group never evicts us and nothing new is fetched.
"""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import msgspec
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from playpipe import telemetry
from playpipe.connectors import metrics
from playpipe.connectors.base import Connector, Record
from playpipe.connectors.batching import Batcher
from playpipe.connectors.delivery import Delivery, Stopping
from playpipe.connectors.dlq import DeadLetters
from playpipe.connectors.retry import RetryPolicy
from playpipe.connectors.transform import Transform
from playpipe.errors import TerminalError
from playpipe.log import get_logger

log = get_logger("connectors")
_decoder = msgspec.json.Decoder()

PATIENCE_S = 1.0
"""How long the consumer thread waits for the writer before it pauses and polls."""
REVOKE_WAIT_S = 30.0
"""How long a revocation waits for the batch in flight (a destination being retried may take
longer: then the batch is still delivered, uncommitted, and the next owner reads it again)."""

Offsets = dict[tuple[str, int], int]


@dataclass
class InFlight:
    """A batch handed to the writer thread: its delivery and commit, and its partitions."""

    future: Future[None]
    partitions: set[tuple[str, int]]


def decode(message: Message | bytes) -> dict[str, Any]:
    """A message value as a JSON object; ``TerminalError`` if it is not one."""
    value = message if isinstance(message, bytes) else (message.value() or b"")
    try:
        data = _decoder.decode(value)
    except msgspec.DecodeError as exc:
        raise TerminalError(f"the message is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise TerminalError(f"the message is JSON but not an object ({type(data).__name__})")
    return data


def to_record(message: Message, data: dict[str, Any]) -> Record:
    """A record for ``data`` read from ``message``."""
    kind, stamp = message.timestamp()
    return Record(
        data=data,
        value=message.value() or b"",
        key=message.key(),
        topic=message.topic() or "",
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        timestamp_ms=stamp if kind else int(time.time() * 1000),
        headers=list(message.headers() or []),
    )


class Runtime:
    """Runs one connector until ``stop`` is set (or SIGTERM / SIGINT)."""

    def __init__(
        self,
        connector: Connector[Any],
        consumer: Consumer,
        dead_letters: DeadLetters,
        topic: str,
    ) -> None:
        settings = connector.settings
        self.connector = connector
        self.consumer = consumer
        self.dead_letters = dead_letters
        self.topic = topic
        self.stop = threading.Event()
        self.transform = Transform(settings)
        self.batcher = Batcher(settings.batch)
        self.delivery = Delivery(
            connector, RetryPolicy.from_settings(settings.retry), dead_letters, self._sleep
        )
        self.writer = ThreadPoolExecutor(1, thread_name_prefix=f"deliver-{connector.name}")
        self.in_flight: InFlight | None = None
        self._read_end: float | None = None
        self.assigned: set[tuple[str, int]] = set()
        self.uncommitted: Offsets = {}
        self.revocations = 0
        self.held: list[Message] = []
        self.waiting = False
        self.on_round: list[Any] = []
        self._last_ts: dict[int, int] = {}
        self._lag_at = 0.0
        name = connector.name
        self._received = telemetry.received_events.labels(metrics.component(name))
        self._filtered = metrics.dropped.labels(name, "filter")
        self._sampled = metrics.dropped.labels(name, "sample")
        self._tombstones = metrics.dropped.labels(name, "tombstone")

    # -- rebalance ------------------------------------------------------------------------
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        consumer.incremental_assign(partitions)
        self.assigned |= {(p.topic, p.partition) for p in partitions}
        if self.waiting:
            consumer.pause(partitions)
        log.info(
            "partitions.assigned", connector=self.connector.name, partitions=_names(partitions)
        )

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        gone = {(p.topic, p.partition) for p in partitions}
        self.revocations += 1
        flight = self.in_flight
        if flight is not None and gone & flight.partitions:
            wait([flight.future], timeout=REVOKE_WAIT_S)  # committed while they are ours
        if gone & self.uncommitted.keys() and (flight is None or flight.future.done()):
            self._commit({})  # what failed to commit during the rebalance, while still ours
        for tp in gone:
            self.uncommitted.pop(tp, None)
        self.batcher.forget(gone)
        self.held = [m for m in self.held if (m.topic(), m.partition()) not in gone]
        self.assigned -= gone
        consumer.incremental_unassign(partitions)
        log.info("partitions.revoked", connector=self.connector.name, partitions=_names(partitions))

    # -- the loop -------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        """Stop cleanly on SIGTERM and SIGINT."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop.set())

    def run(self) -> None:
        """Consume until stopped; deliver and commit what was read before returning."""
        self.consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        log.info("connector.started", connector=self.connector.name, topic=self.topic)
        try:
            while not self.stop.is_set():
                self.round()
            self.finish()
        except Stopping:
            log.info("connector.stopping", connector=self.connector.name, pending="uncommitted")
        finally:
            self.writer.shutdown(wait=True)
            self.consumer.close()
            log.info("connector.stopped", connector=self.connector.name)

    def round(self) -> None:
        """Read what is there (up to the batch limits), hand a due batch over, commit."""
        for hook in self.on_round:
            hook()
        flight = self.in_flight
        if flight is not None and flight.future.done():
            self._settle()
        since = None
        if self.held:
            messages, self.held = self.held, []
        else:
            room = max(1, min(self.connector.settings.batch.max_events - len(self.batcher), 5000))
            timeout = min(max(self.batcher.age_left(), 0.0), 0.2)
            # What this read returns arrived after the previous read returned (work done in
            # between, such as preparing a batch, counts in the new batch's age).
            since = self.batcher.clock() if self._read_end is None else self._read_end
            messages = self.consumer.consume(room, timeout=timeout)
            self._read_end = self.batcher.clock()
        self._take_all(messages, since)
        if self.batcher.due():
            self._hand_over()
        elif not self.batcher.records and self.batcher.read and self.in_flight is None:
            self._commit(self.batcher.take_read())  # only dropped or dead-lettered records
        self._update_lag()

    def finish(self) -> None:
        """Deliver the open batch, wait for it and its dead letters, commit everything read."""
        if self.batcher.records:
            self._hand_over()
        self._settle()
        self._commit(self.batcher.take_read())

    def _hand_over(self) -> None:
        """Prepare the open batch here, then give it to the writer once the previous one is
        delivered and committed."""
        batch = self.batcher.take()
        offsets = self.batcher.take_read()
        try:
            prepared = self.connector.prepare(batch)
        except Exception:  # write does the work again and its errors go through delivery
            log.error("prepare.unexpected", connector=self.connector.name, exc=True)
            prepared = None
        revocations = self.revocations
        self._settle()
        if self.revocations != revocations:  # while waiting: what is no longer ours goes
            kept = [r for r in batch if (r.topic, r.partition) in self.assigned]
            if len(kept) != len(batch):
                batch, prepared = kept, None
            offsets = {tp: o for tp, o in offsets.items() if tp in self.assigned}
            if not batch:
                self._commit(offsets)
                return
        future = self.writer.submit(self._deliver, batch, prepared, offsets)
        self.in_flight = InFlight(future, set(offsets))

    def _deliver(self, batch: list[Record], prepared: object, offsets: Offsets) -> None:
        """The writer's job: deliver the batch, then commit what it makes safe."""
        self.delivery.deliver(batch, prepared)
        self._commit(offsets)

    def _settle(self) -> None:
        """Wait until the batch in flight, if any, is delivered and committed; raises what
        its delivery raised (``Stopping``)."""
        flight = self.in_flight
        if flight is None:
            return
        if not wait([flight.future], timeout=PATIENCE_S).done:
            self._wait_polling(flight.future)
        self.in_flight = None
        flight.future.result()

    def _take_all(self, messages: list[Message], since: float | None = None) -> None:
        """Decode, transform and batch messages; the hot loop, kept flat on purpose."""
        read, last_ts, apply = self.batcher.read, self._last_ts, self.transform.apply
        decode_json, plain = _decoder.decode, self.transform.plain
        sources = self.transform.sources
        received = size = 0
        records: list[Record] = []
        append = records.append
        for message in messages:
            if message.error() is not None:
                self._consume_error(message)
                continue
            received += 1
            topic, partition, offset = (
                message.topic() or "",
                message.partition() or 0,
                message.offset() or 0,
            )
            read[(topic, partition)] = offset + 1
            kind, stamp = message.timestamp()
            stamp = stamp if kind else int(time.time() * 1000)
            last_ts[partition] = stamp
            value = message.value()
            if value is None:  # a tombstone of a compacted topic: nothing to deliver
                self._tombstones.inc()
                continue
            try:
                data = decode_json(value)
            except msgspec.DecodeError:
                data = None
            if type(data) is not dict:
                self._dead_letter_undecodable(message, value)
                continue
            key = message.key()
            if plain:  # no sampling, filter or field selection: only the timestamp is set
                for name in sources:
                    ts = data.get(name)
                    if type(ts) is int:
                        data["timestamp"] = ts
                        break
                else:
                    data["timestamp"] = stamp
                kept = data
            else:
                kept = apply(data, stamp, key)
                if kept is None:
                    (
                        self._sampled if self.transform.dropped_by == "sample" else self._filtered
                    ).inc()
                    continue
            append(
                Record(kept, value, key, topic, partition, offset, stamp, message.headers() or [])
            )
            size += len(value)
        self.batcher.extend(records, size, since)
        self._received.inc(received)

    def _dead_letter_undecodable(self, message: Message, value: bytes) -> None:
        """A value that is not a JSON object goes to the DLQ, with ``decode``'s reason."""
        error = TerminalError("the message is not a JSON object")
        try:
            decode(value)
        except TerminalError as exc:
            error = exc
        self.dead_letters.send([to_record(message, {})], error, 1)
        metrics.dead_lettered.labels(self.connector.name, "TerminalError").inc()

    def _consume_error(self, message: Message) -> None:
        error = message.error()
        if error is not None and error.code() != KafkaError._PARTITION_EOF:
            telemetry.errors.labels(metrics.component(self.connector.name), "consume").inc()
            log.warning("consume.error", connector=self.connector.name, error=error.str())

    def _commit(self, read: Offsets) -> None:
        """Commit ``read`` (next offsets after delivered or dropped records) once the dead
        letters are in Kafka, with any earlier offsets whose commit failed; from the writer
        thread, or from the consumer's when nothing is in flight (never both at once;
        librdkafka's commit may be called from any thread)."""
        unsent = self.uncommitted
        unsent.update(read)
        if not unsent:
            return
        self.dead_letters.flush()
        offsets = [
            TopicPartition(t, p, o) for (t, p), o in unsent.items() if (t, p) in self.assigned
        ]
        if not offsets:
            return
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # During a rebalance (a new generation) a commit fails: it is sent again with the
            # next one, or when the partition is revoked, or at shutdown.
            if exc.args[0].code() != KafkaError._NO_OFFSET:
                log.warning("commit.failed", connector=self.connector.name, error=str(exc))
                return
        for tp in offsets:
            unsent.pop((tp.topic, tp.partition), None)

    # -- waiting without leaving the group -------------------------------------------------
    def _sleep(self, seconds: float) -> None:
        """The writer's wait between attempts; ``Stopping`` if shutdown is asked for."""
        if self.stop.wait(seconds):
            raise Stopping()

    def _wait_polling(self, future: Future[None]) -> None:
        """Pause the partitions and keep polling until ``future`` is done; resume after."""
        self.waiting = True
        self.consumer.pause(self.consumer.assignment())
        try:
            while not future.done():
                self.held.extend(self.consumer.consume(100, timeout=0.2))
                for hook in self.on_round:
                    hook()
        finally:
            self.waiting = False
            self.consumer.resume(self.consumer.assignment())

    def _update_lag(self) -> None:
        now = time.monotonic()
        if now - self._lag_at < 2.0:
            return
        self._lag_at = now
        name = self.connector.name
        worst = 0.0
        for tp in self.consumer.assignment():
            try:
                _low, high = self.consumer.get_watermark_offsets(tp, cached=True)
                position = self.consumer.position([tp])[0].offset
            except KafkaException:
                continue
            if high < 0 or position < 0:
                continue
            behind = max(high - position, 0)
            metrics.lag_messages.labels(name, str(tp.partition)).set(behind)
            last = self._last_ts.get(tp.partition)
            if behind and last:
                worst = max(worst, time.time() - last / 1000)
        if self.batcher.records:
            worst = max(worst, time.time() - self.batcher.records[0].timestamp_ms / 1000)
        metrics.lag_seconds.labels(name).set(worst)


def _names(partitions: list[TopicPartition]) -> str:
    return ",".join(f"{p.topic}[{p.partition}]" for p in partitions)
