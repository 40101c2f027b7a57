"""A test producer of view records and window results, and helpers to fill a store."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
from confluent_kafka import Producer

from playpipe.api.ingest import StoreIngest
from playpipe.api.store import MetricsStore
from playpipe.config import Config
from playpipe.kafka.settings import producer_config
from playpipe.kafka.topics import topic_name


def window_key(record: dict[str, Any]) -> bytes:
    """The aggregator's key of a window result: window, start and dimension key."""
    dims = ",".join(f"{k}={v}" for k, v in record["dimensions"].items())
    return f"{record['window']}|{record['window_start_ms']}|{dims}".encode()


def produce(
    config: Config,
    windows: Iterable[dict[str, Any]] = (),
    views: Iterable[dict[str, Any]] = (),
) -> int:
    """Produce window results to ``<prefix>.metrics.<window>`` and views to ``<prefix>.views``."""
    producer = Producer(producer_config(config.kafka))
    count = 0
    for record in windows:
        topic = topic_name(config, f"metrics.{record['window']}")
        producer.produce(topic, msgspec.json.encode(record), window_key(record))
        count += 1
        producer.poll(0)
    for record in views:
        key = record["view_id"].encode()
        producer.produce(topic_name(config, "views"), msgspec.json.encode(record), key)
        count += 1
        producer.poll(0)
    assert producer.flush(30) == 0
    return count


def wait_for(check: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    """Poll ``check`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.1)


def ingest_until(
    config: Config, store: MetricsStore, records: int, timeout: float = 90.0
) -> StoreIngest:
    """Run the store's consumer until it has written ``records`` records; return it stopped."""
    ingest = StoreIngest(config, store)
    thread = threading.Thread(target=ingest.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: ingest.records >= records, timeout, f"{records} records in the store")
    finally:
        ingest.stopping.set()
        thread.join(30)
    return ingest


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ApiProcess:
    """A real ``playpipe api`` child process on a free loopback port."""

    def __init__(self, config: Config, workdir: Any, extra_env: dict[str, str] | None = None):
        import os
        import subprocess
        import sys

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "api.log"
        env = {
            **os.environ,
            "PLAYPIPE_TOPICS_PREFIX": config.topics.prefix,
            "PLAYPIPE_API_DATA_DIR": str(workdir / "store"),
            **(extra_env or {}),
        }
        env.pop("PLAYPIPE_CONFIG", None)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "playpipe",
                "api",
                "--bootstrap-servers",
                config.kafka.bootstrap_servers,
                "--port",
                str(self.port),
            ],
            cwd=workdir,
            env=env,
            stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        import httpx

        def healthy() -> bool:
            assert self.proc.poll() is None, self.log()
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, 60, "playpipe api to answer /healthz")

    def log(self) -> str:
        text: str = self.log_path.read_text(errors="replace")
        return text

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait; returns the exit code."""
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code: int = self.proc.wait(timeout)
        return code

    def kill(self) -> None:
        """Stop the server and its worker: SIGTERM to the process group, SIGKILL if it lingers."""
        import os
        import signal

        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            self.proc.poll()  # reap the main process so that only live members remain
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
