"""Run the real ``playpipe collect`` as a subprocess for integration tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CollectorProcess:
    """``playpipe collect --open`` on a free port, with its own spool folder and topics."""

    def __init__(
        self,
        bootstrap: str,
        prefix: str,
        spool_dir: Path,
        produce_timeout_ms: int = 1500,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = spool_dir.parent / f"collector-{self.port}.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PLAYPIPE_")},
            "PLAYPIPE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "PLAYPIPE_TOPICS_PREFIX": prefix,
            "PLAYPIPE_COLLECTOR_SPOOL_DIR": str(spool_dir),
            "PLAYPIPE_COLLECTOR_PRODUCE_TIMEOUT_MS": str(produce_timeout_ms),
            **(extra_env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> CollectorProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "playpipe", "collect", "--open", "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            assert self.proc.poll() is None, (
                f"collector exited: {self.log_path.read_text()[-2000:]}"
            )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "collector did not answer /healthz"
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the whole process group: server and workers die at once."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def metric(self, name: str) -> float:
        text = httpx.get(f"{self.url}/metrics", timeout=5).text
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total
