"""The real pipeline as subprocesses (collector, standardizer, aggregator) for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from confluent_kafka import Consumer

from playpipe.config import Config, KafkaSettings
from playpipe.kafka.settings import consumer_config
from playpipe.kafka.topics import apply_topics, topic_name
from tests.integration.collector_proc import CollectorProcess

SIM_DIMENSION_SETS = [
    [],
    ["cdn"],
    ["country"],
    ["device_type"],
    ["cdn", "country"],
]


class Pipeline:
    """Collector + standardizer + aggregator on their own topics."""

    def __init__(
        self, bootstrap: str, prefix: str, work: Path, partitions: int = 3, idle_speed: float = 30
    ) -> None:
        self.idle_speed = idle_speed
        self.config = Config(kafka=KafkaSettings(bootstrap_servers=bootstrap, timeout_s=20))
        self.config.topics.prefix = prefix
        self.config.topics.partitions = partitions
        self.config.streams.dimension_sets = SIM_DIMENSION_SETS
        apply_topics(self.config)
        self.work = work
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PLAYPIPE_")},
            "PLAYPIPE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "PLAYPIPE_TOPICS_PREFIX": prefix,
            "PLAYPIPE_STREAMS_DIMENSION_SETS": json.dumps(SIM_DIMENSION_SETS),
            # The simulator's clocks are exact: a batch's transit must not pass for clock skew.
            "PLAYPIPE_COLLECTOR_ENRICH_SKEW_TOLERANCE_MS": "600000",
        }
        self.collector = CollectorProcess(
            bootstrap,
            prefix,
            work / "spool",
            extra_env={"PLAYPIPE_COLLECTOR_ENRICH_SKEW_TOLERANCE_MS": "600000"},
        )
        self.stages: dict[str, subprocess.Popen[bytes]] = {}

    def start_stage(self, name: str, *args: str) -> None:
        log = (self.work / f"{name}.log").open("ab")
        self.stages[name] = subprocess.Popen(
            [sys.executable, "-m", "playpipe", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self) -> Pipeline:
        self.collector.start()
        self.start_stage("standardizer", "standardize")
        self.start_stage("aggregator", "aggregate", "--idle-speed", str(self.idle_speed))
        return self

    def kill(self, name: str) -> None:
        proc = self.stages[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> None:
        self.collector.stop()
        for proc in self.stages.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for name, proc in self.stages.items():
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                raise AssertionError(f"{name} did not stop on SIGTERM") from None

    def log(self, name: str) -> str:
        return (self.work / f"{name}.log").read_text()[-3000:]


def read_latest(
    config: Config,
    topics: list[str],
    done: Callable[[dict[str, dict[bytes, Any]]], bool],
    quiet_s: float = 8.0,
    timeout_s: float = 300.0,
) -> dict[str, dict[bytes, Any]]:
    """The latest value per key of each topic, once ``done`` holds and nothing new came
    for ``quiet_s``."""
    consumer = Consumer(consumer_config(config.kafka, f"e2e-{uuid.uuid4().hex}"))
    consumer.subscribe([topic_name(config, t) for t in topics])
    latest: dict[str, dict[bytes, Any]] = {topic_name(config, t): {} for t in topics}
    last_new = time.monotonic()
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            batch = consumer.consume(1000, timeout=0.5)
            for msg in batch:
                if msg.error() is None and msg.value() is not None:
                    latest[msg.topic()][msg.key()] = msgspec.json.decode(msg.value())
            if batch:
                last_new = time.monotonic()
            elif done(latest) and time.monotonic() - last_new > quiet_s:
                break
    finally:
        consumer.close()
    return latest


def observed_event_times(config: Config, quiet_s: float = 3.0) -> dict[str, int]:
    """event_id → event_ts of the first copy of each event on the events topic."""
    consumer = Consumer(consumer_config(config.kafka, f"e2e-ts-{uuid.uuid4().hex}"))
    consumer.subscribe([topic_name(config, "events")])
    observed: dict[str, int] = {}
    last_new = time.monotonic()
    try:
        while time.monotonic() - last_new < quiet_s:
            batch = consumer.consume(5000, timeout=0.5)
            for msg in batch:
                if msg.error() is None and msg.value() is not None:
                    event = msgspec.json.decode(msg.value())
                    observed.setdefault(event["event_id"], event["event_ts"])
            if batch:
                last_new = time.monotonic()
    finally:
        consumer.close()
    return observed
