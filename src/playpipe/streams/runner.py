"""The consume → process → produce loop shared by the stream stages (at-least-once).

Each round reads up to ``batch_size`` messages, hands them to the stage, produces what the
stage returns, waits until Kafka acknowledged every output (retrying failed deliveries), and
only then stores the offsets the stage declares safe. A crash anywhere replays from the last
committed offsets: outputs may repeat, never go missing; downstream stages drop duplicates
by ``event_id`` and keyed outputs are upserts.

Kafka transactions would give exactly-once within Kafka, but their protocol has known gaps
(Jepsen 2024, KIP-890), and our destinations need idempotence anyway; at-least-once with
idempotent keys is the one guarantee we state and test.
"""

from __future__ import annotations

import gc
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from playpipe import telemetry
from playpipe.config import Config
from playpipe.kafka.settings import consumer_config, producer_config
from playpipe.log import get_logger

log = get_logger("streams")


@dataclass(slots=True)
class Output:
    """One message a stage wants produced."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    partition: int | None = None
    """Force a partition (state changelogs follow their input partition)."""


class Stage(Protocol):
    """What a stream stage implements; the runner does Kafka."""

    name: str

    def process(self, messages: Sequence[Message]) -> list[Output]:
        """Outputs for these messages (may be empty; may hold state for later)."""
        ...

    def tick(self, now_s: float) -> list[Output]:
        """Called every round, also when nothing arrived (timers, idle watermarks)."""
        ...

    def safe_offsets(self) -> dict[tuple[str, int], int]:
        """Per (topic, partition), the next offset whose predecessors are fully handled."""
        ...

    def assigned(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """Partitions were assigned; return offsets to seek to (e.g. from restored state)."""
        ...

    def revoked(self, partitions: list[tuple[str, int]]) -> None:
        """Partitions were taken away; drop their state."""
        ...

    def bind(self, consumer: Consumer) -> None:
        """The runner's consumer, for stages that look offsets up (e.g. by time)."""
        ...


def tune_gc() -> None:
    """Collect garbage rarely. A stage allocates millions of short-lived acyclic objects
    (messages, decoded events, outputs) while it holds a large, long-lived state (open views,
    windows, partials); at the default thresholds the collector re-scans that state so often
    that it took about a tenth of the aggregator's CPU. Objects made at start-up are frozen
    out of the scans. Cycles are still collected, later."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 10)


class StreamRunner:
    """Runs one stage in one consumer group until ``stop`` is set (or SIGTERM/SIGINT)."""

    def __init__(
        self,
        config: Config,
        stage: Stage,
        group_id: str,
        topics: list[str],
        batch_size: int = 2000,
        poll_timeout_s: float = 0.1,
    ) -> None:
        self.stage = stage
        self.topics = topics
        self.batch_size = batch_size
        self.poll_timeout_s = poll_timeout_s
        self.stop = threading.Event()
        self.consumer = Consumer(
            consumer_config(config.kafka, group_id, **{"enable.auto.commit": False})
        )
        self.producer = Producer(
            producer_config(config.kafka, **{"linger.ms": 10, "message.max.bytes": 16_000_000})
        )
        self._failed: list[tuple[Output, KafkaError]] = []
        self._sent = telemetry.sent_events
        self._sent_to: dict[str, Any] = {}
        self._received = telemetry.received_events.labels(stage.name)
        self._last_commit = 0.0
        stage.bind(self.consumer)

    # -- rebalance ------------------------------------------------------------------------
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        seeks = self.stage.assigned([(p.topic, p.partition) for p in partitions])
        for tp in partitions:
            offset = seeks.get((tp.topic, tp.partition))
            if offset is not None:
                tp.offset = offset
        consumer.incremental_assign(partitions)
        log.info("partitions.assigned", stage=self.stage.name, partitions=_names(partitions))

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._finish_round()
        self._commit(force=True)
        self.stage.revoked([(p.topic, p.partition) for p in partitions])
        consumer.incremental_unassign(partitions)
        log.info("partitions.revoked", stage=self.stage.name, partitions=_names(partitions))

    # -- the loop -------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop.set())

    def run(self) -> None:
        self.consumer.subscribe(self.topics, on_assign=self._on_assign, on_revoke=self._on_revoke)
        log.info("stage.started", stage=self.stage.name, topics=",".join(self.topics))
        try:
            while not self.stop.is_set():
                self.round()
            self._finish_round()
            self._commit(force=True)
        finally:
            self.consumer.close()
            log.info("stage.stopped", stage=self.stage.name)

    def round(self) -> None:
        messages = self.consumer.consume(self.batch_size, timeout=self.poll_timeout_s)
        good = []
        for message in messages:
            error = message.error()
            if error is None:
                good.append(message)
            elif error.code() != KafkaError._PARTITION_EOF:
                telemetry.errors.labels(self.stage.name, "consume").inc()
                log.warning("consume.error", stage=self.stage.name, error=error.str())
        outputs = self.stage.process(good) if good else []
        self._received.inc(len(good))
        outputs += self.stage.tick(time.monotonic())
        self._produce(outputs)
        self._finish_round()
        self._commit()

    def _produce(self, outputs: list[Output]) -> None:
        for output in outputs:
            while True:
                try:
                    if output.partition is None:
                        self.producer.produce(
                            output.topic,
                            output.value,
                            output.key,
                            headers=output.headers or None,
                            on_delivery=self._delivery(output),
                        )
                    else:
                        self.producer.produce(
                            output.topic,
                            output.value,
                            output.key,
                            partition=output.partition,
                            headers=output.headers or None,
                            on_delivery=self._delivery(output),
                        )
                    break
                except BufferError:
                    self.producer.poll(0.05)

    def _delivery(self, output: Output) -> Any:
        sent = self._sent_to.get(output.topic)
        if sent is None:  # a labelled child per topic, looked up once
            sent = self._sent_to[output.topic] = self._sent.labels(self.stage.name, output.topic)

        def report(err: KafkaError | None, msg: Message) -> None:
            if err is None:
                sent.inc()
            else:
                self._failed.append((output, err))

        return report

    def _finish_round(self) -> None:
        """Block until every output is acknowledged, producing failed ones again."""
        backoff = 0.2
        while True:
            remaining = self.producer.flush(5.0)
            if not self._failed and remaining == 0:
                return
            if self._failed:
                failed, self._failed = self._failed, []
                telemetry.errors.labels(self.stage.name, "produce").inc(len(failed))
                log.warning(
                    "produce.retry",
                    stage=self.stage.name,
                    messages=len(failed),
                    error=failed[0][1].str(),
                )
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                self._produce([output for output, _ in failed])

    def _commit(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_commit < 1.0:
            return
        offsets = [TopicPartition(t, p, o) for (t, p), o in self.stage.safe_offsets().items()]
        if offsets:
            try:
                self.consumer.commit(offsets=offsets, asynchronous=not force)
            except KafkaException as exc:
                log.warning("commit.failed", stage=self.stage.name, error=str(exc))
        self._last_commit = now


def _names(partitions: list[TopicPartition]) -> str:
    return ",".join(f"{p.topic}[{p.partition}]" for p in partitions)
