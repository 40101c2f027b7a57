"""Events for the Kafka aggregation benchmark: a prepared backlog and a live tail.

Both come from the synthetic views of ``pure.py`` (heartbeats every 10 s, rebuffers, pauses,
seeks, rendition changes, every event with its context nodes), encoded as dictionary JSON
and keyed by ``view_id``. The record timestamp is the event time.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from bench.aggregate.pure import events
from confluent_kafka import Producer

from playpipe.config import KafkaSettings
from playpipe.dictionary import ViewEndEvent, ViewStartEvent, encode_event
from playpipe.kafka.settings import producer_config


@dataclass
class Backlog:
    """What was produced to the prepared topic."""

    count: int
    first_ts: int
    last_ts: int
    open_views: int
    """Views started and not ended when the backlog stops (the engines' active views)."""
    bytes: int
    seconds: float


def _producer(bootstrap: str, linger_ms: int) -> Producer:
    settings = KafkaSettings(bootstrap_servers=bootstrap)
    return Producer(
        producer_config(
            settings,
            **{
                "linger.ms": linger_ms,
                "batch.size": 1_000_000,
                "queue.buffering.max.messages": 1_000_000,
                "queue.buffering.max.kbytes": 1_048_576,
            },
        )
    )


def _send(producer: Producer, topic: str, key: bytes, value: bytes, ts: int) -> None:
    while True:
        try:
            producer.produce(topic, value, key, timestamp=ts)
            return
        except BufferError:
            producer.poll(0.05)


def prepare(bootstrap: str, topic: str, total: int, views: int, seed: int, base_ms: int) -> Backlog:
    """Produce ``total`` events starting at event time ``base_ms``; show progress."""
    producer = _producer(bootstrap, linger_ms=50)
    failed: list[str] = []

    def report(err: object, _msg: object) -> None:
        if err is not None:
            failed.append(str(err))

    began = time.monotonic()
    open_ids: set[str] = set()
    size = 0
    first_ts = last_ts = 0
    stream = events(views, seed, base_ms=base_ms)
    step = max(1, total // 20)
    for i in range(total):
        event = next(stream)
        value = encode_event(event)
        ts = event.event_ts or event.client_ts
        if i == 0:
            first_ts = ts
        last_ts = ts
        if isinstance(event, ViewStartEvent):
            open_ids.add(event.view_id)
        elif isinstance(event, ViewEndEvent):
            open_ids.discard(event.view_id)
        size += len(value)
        while True:
            try:
                producer.produce(
                    topic, value, event.view_id.encode(), timestamp=ts, on_delivery=report
                )
                break
            except BufferError:
                producer.poll(0.05)
        if i % 1024 == 0:
            producer.poll(0)
        if (i + 1) % step == 0:
            rate = (i + 1) / (time.monotonic() - began)
            print(f"  prepared {i + 1:>10,} / {total:,} events ({rate:,.0f}/s)", file=sys.stderr)
    producer.flush(120)
    if failed:
        raise SystemExit(f"{len(failed)} events were not produced: {failed[0]}")
    return Backlog(total, first_ts, last_ts, len(open_ids), size, time.monotonic() - began)


def live(bootstrap: str, topic: str, seconds: float, views: int, seed: int, first_id: int) -> int:
    """Produce new views in real time (event time = wall time) for ``seconds``; return count."""
    producer = _producer(bootstrap, linger_ms=5)  # sent at once: lags count from wall time
    start_ms = int(time.time() * 1000)
    stop_ms = start_ms + int(seconds * 1000)
    sent = 0
    for event in events(views, seed, base_ms=start_ms, first_id=first_id):
        ts = event.event_ts or event.client_ts
        if ts >= stop_ms:
            break
        wait = ts / 1000 - time.time()
        if wait > 0:
            producer.poll(0)
            time.sleep(wait)
        _send(producer, topic, event.view_id.encode(), encode_event(event), ts)
        sent += 1
    producer.flush(30)
    return sent
