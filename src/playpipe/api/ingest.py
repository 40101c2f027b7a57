"""The store's Kafka consumer: ``<prefix>.metrics.*`` and ``<prefix>.views`` into DuckDB.

One thread reads both (the metrics topics by regular expression, so a window added to the
configuration is picked up), decodes a batch, writes it with its offsets in one DuckDB
transaction, publishes what changed to ``/v1/live``, and then commits the offsets to Kafka
(so ``playpipe up`` can show the lag). On assignment each partition starts from the offset
the store recorded, or from the beginning for a new store: the topics are compacted, so
they hold the latest value of every key and a fresh store is rebuilt from them.

A record that cannot be decoded is counted (``playpipe_errors_total{stage="decode"}``),
logged with its topic, partition and offset, and passed over: it cannot become readable by
waiting, and holding the partition would stop the dashboard.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from playpipe import telemetry
from playpipe.api import metrics
from playpipe.api.records import decode_view, decode_window
from playpipe.api.store import Batch, MetricsStore, WriteResult
from playpipe.config import Config
from playpipe.kafka.settings import consumer_config
from playpipe.kafka.topics import topic_name
from playpipe.log import get_logger

__all__ = ["StoreIngest", "group_for", "subscriptions"]

log = get_logger("api")
PRUNE_EVERY_S = 3600.0


def group_for(config: Config) -> str:
    """The consumer group of the store: ``api.group_id`` or ``<prefix>-api``."""
    return config.api.group_id or f"{config.topics.prefix}-api"


def subscriptions(config: Config) -> list[str]:
    """The views topic and a regular expression matching every metrics topic."""
    metrics_prefix = topic_name(config, "metrics.")
    return [topic_name(config, "views"), "^" + re.escape(metrics_prefix) + r"[^.]+$"]


class StoreIngest:
    """Reads the topics into the store until :meth:`stop`."""

    def __init__(
        self,
        config: Config,
        store: MetricsStore,
        on_write: Callable[[WriteResult], None] | None = None,
        batch_size: int = 5000,
        poll_timeout_s: float = 0.2,
    ) -> None:
        self.config = config
        self.store = store
        self.on_write = on_write
        self.batch_size = batch_size
        self.poll_timeout_s = poll_timeout_s
        self.views_topic = topic_name(config, "views")
        self.stopping = threading.Event()
        self.records = 0
        """Records written since start (windows and views)."""
        self.last_write_ms: int | None = None
        self._thread: threading.Thread | None = None
        self._consumer = Consumer(
            consumer_config(
                config.kafka,
                group_for(config),
                **{
                    "enable.auto.commit": False,
                    # Metrics topics created later are found within seconds, not minutes.
                    "topic.metadata.refresh.interval.ms": 5000,
                },
            )
        )
        self._received = telemetry.received_events.labels("api")

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        """Run in a background thread."""
        self._thread = threading.Thread(target=self.run, name="store-ingest", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        """Whether the background thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Finish the current batch, commit, close the consumer."""
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def run(self) -> None:
        """The loop: consume, write, publish, commit; until :meth:`stop`."""
        self._consumer.subscribe(subscriptions(self.config), on_assign=self._on_assign)
        log.info("store.ingest_started", group=group_for(self.config), store=self.store.path)
        last_prune = 0.0
        try:
            while not self.stopping.is_set():
                self.round()
                if time.monotonic() - last_prune > PRUNE_EVERY_S:
                    pruned = self.store.prune(self.config.api.retention_days)
                    if pruned:
                        log.info("store.pruned", rows=pruned)
                    last_prune = time.monotonic()
        except Exception:
            telemetry.errors.labels("api", "ingest").inc()
            log.error("store.ingest_failed", exc=True)
            raise
        finally:
            self._consumer.close()
            log.info("store.ingest_stopped", records=self.records)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        stored = self.store.offsets()
        for tp in partitions:
            tp.offset = stored.get((tp.topic, tp.partition), OFFSET_BEGINNING)
        consumer.incremental_assign(partitions)
        log.info(
            "store.partitions_assigned",
            partitions=",".join(f"{p.topic}[{p.partition}]@{p.offset}" for p in partitions),
        )

    # -- one round ----------------------------------------------------------------------
    def round(self) -> int:
        """Read and store one batch; returns how many records it held."""
        messages = self._consumer.consume(self.batch_size, timeout=self.poll_timeout_s)
        batch = Batch()
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    telemetry.errors.labels("api", "consume").inc()
                    log.warning("store.consume_error", error=error.str())
                continue
            self._add(batch, message)
        if not batch.offsets:
            return 0
        result = self.store.write(batch)
        count = len(batch.windows) + len(batch.views)
        self.records += count
        self.last_write_ms = int(time.time() * 1000)
        self._received.inc(count)
        metrics.rows_written.labels("windows").inc(len(batch.windows))
        metrics.rows_written.labels("views").inc(len(batch.views))
        if self.on_write is not None:
            self.on_write(result)
        self._commit(batch)
        return count

    def _add(self, batch: Batch, message: Message) -> None:
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        batch.offsets[(topic, partition)] = offset + 1
        value = message.value()
        if value is None:  # a tombstone: nothing to store
            return
        try:
            if topic == self.views_topic:
                batch.views.append((decode_view(value), value))
            else:
                batch.windows.append(decode_window(value))
        except ValueError as exc:
            telemetry.errors.labels("api", "decode").inc()
            log.warning(
                "store.record_unreadable",
                topic=topic,
                partition=partition,
                offset=offset,
                error=str(exc),
            )

    def _commit(self, batch: Batch) -> None:
        offsets = [TopicPartition(t, p, o) for (t, p), o in batch.offsets.items()]
        try:
            self._consumer.commit(offsets=offsets, asynchronous=True)
        except Exception as exc:  # the store holds the truth; Kafka's copy is for lag only
            log.warning("store.commit_failed", error=str(exc))
