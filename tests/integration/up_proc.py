"""A real ``playpipe up`` / ``playpipe demo`` child process against the test Kafka.

It runs in its own folder with the repository's default ``playpipe.toml`` (so the defaults are
what is tested), its own topic prefix and free loopback ports; its data (store, spool, Parquet
files, component logs) stays under that folder's ``.playpipe/``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.integration.api.kafka_io import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = ROOT / "playpipe.toml"
STARTED = re.compile(r"component\.started component=.*? pid=(\d+)")
STOPPED = re.compile(r"component\.stopped component=\"?([^\"\s]+(?: [^\"\s]+)?)\"? code=(-?\d+)")


class UpProcess:
    """``playpipe <command> --bootstrap-servers … <args>`` in ``workdir``."""

    def __init__(
        self,
        command: str,
        bootstrap: str,
        prefix: str,
        workdir: Path,
        args: tuple[str, ...] = (),
        collector_port: int | None = None,
        api_port: int | None = None,
    ) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        shutil.copy(DEFAULT_CONFIG, workdir / "playpipe.toml")
        self.collector_port = collector_port or free_port()
        self.api_port = api_port or free_port()
        self.collector_url = f"http://127.0.0.1:{self.collector_port}"
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.out_path = workdir / f"{command}.out"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYPIPE_")}
        env.update(
            {
                "PLAYPIPE_TOPICS_PREFIX": prefix,
                "PLAYPIPE_TOPICS_PARTITIONS": "3",
                "PLAYPIPE_COLLECTOR_PORT": str(self.collector_port),
                "PLAYPIPE_API_PORT": str(self.api_port),
                # A loaded test machine delays batches: keep them as on time (no clock skew).
                "PLAYPIPE_COLLECTOR_ENRICH_SKEW_TOLERANCE_MS": "600000",
                "COLUMNS": "120",
            }
        )
        with self.out_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "playpipe",
                    command,
                    "--bootstrap-servers",
                    bootstrap,
                    "--metrics-ports",
                    "0",
                    *args,
                ],
                cwd=workdir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.out_path.read_text(errors="replace")

    def logs(self) -> str:
        """The supervisor's output, then the tail of every component's log."""
        parts = [self.output()]
        for path in sorted((self.workdir / ".playpipe" / "logs").glob("*.log")):
            parts.append(f"--- {path.name} ---\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    def wait_healthy(self, timeout: float = 120.0) -> None:
        """Until the collector and the API answer ``/healthz``."""

        def healthy() -> bool:
            assert self.proc.poll() is None, self.logs()
            try:
                return all(
                    httpx.get(f"{url}/healthz", timeout=2).status_code == 200
                    for url in (self.collector_url, self.api_url)
                )
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout, "the collector and the API to answer")

    def terminate(self, timeout: float = 120.0) -> int:
        """SIGTERM, as a service manager would; the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def stopped_components(self) -> dict[str, int]:
        """Each component's exit code, as the supervisor logged it."""
        return {m.group(1): int(m.group(2)) for m in STOPPED.finditer(self.output())}

    def kill(self) -> None:
        """Leave nothing behind: ``up`` itself, then any child it started that still runs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        # Children run in sessions of their own; their pids are in the supervisor's log.
        for pid in {int(p) for p in STARTED.findall(self.output())}:
            with contextlib.suppress(OSError):
                if b"playpipe" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.killpg(pid, signal.SIGKILL)
