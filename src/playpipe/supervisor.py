"""Run playpipe's components as supervised child processes (``playpipe up``).

Each component is a ``playpipe <command>`` child with its own log file. A child that exits
is restarted with exponential back-off (1 s doubling to 30 s, reset after a minute of good
health) and the restart is logged. Stopping goes wave by wave (``Component.stop_wave``): the
collector first, then every consumer at once. SIGTERM makes each child finish what it holds
(the collector its in-flight requests, the stages their current batch) and commit; nothing is
lost because every stage is at-least-once from committed offsets. Only a child still running
after the grace period is SIGKILLed.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from playpipe.log import get_logger

log = get_logger("up")

RESTART_MIN_S = 1.0
RESTART_MAX_S = 30.0
HEALTHY_AFTER_S = 60.0
STOP_GRACE_S = 30.0


@dataclass
class Component:
    """One child process: ``playpipe <args...>``."""

    name: str
    args: list[str]
    metrics_url: str | None = None
    stop_wave: int = 0
    """Components stop in waves, lowest first; one wave's children stop at the same time."""
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0
    next_start: float = 0.0
    backoff: float = RESTART_MIN_S
    last_exit: int | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def state(self) -> str:
        if self.running:
            return "running"
        return "restarting" if self.next_start else "stopped"


class Supervisor:
    """Starts, watches and stops a set of components."""

    def __init__(
        self, components: list[Component], log_dir: Path, env: dict[str, str] | None = None
    ) -> None:
        self.components = components
        self.log_dir = log_dir
        self.env = env or {}
        self.stopping = False
        log_dir.mkdir(parents=True, exist_ok=True)

    def log_path(self, component: Component) -> Path:
        return self.log_dir / (re.sub(r"[^A-Za-z0-9._-]+", "-", component.name) + ".log")

    def _spawn(self, component: Component) -> None:
        out = self.log_path(component).open("ab")
        env = {**os.environ, **self.env, **component.env}
        component.proc = subprocess.Popen(
            [sys.executable, "-m", "playpipe", *component.args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        component.started_at = time.monotonic()
        component.next_start = 0.0
        log.info("component.started", component=component.name, pid=component.proc.pid)

    def start(self) -> None:
        for component in self.components:
            self._spawn(component)

    def check(self) -> None:
        """Restart what died (with back-off); call this every second or so."""
        now = time.monotonic()
        for component in self.components:
            if self.stopping or component.running:
                if component.running and now - component.started_at > HEALTHY_AFTER_S:
                    component.backoff = RESTART_MIN_S
                continue
            if component.next_start == 0.0:
                assert component.proc is not None
                component.last_exit = component.proc.returncode
                component.next_start = now + component.backoff
                log.warning(
                    "component.exited",
                    component=component.name,
                    code=component.last_exit,
                    restart_in_s=round(component.backoff, 1),
                    log=self.log_path(component),
                )
                component.backoff = min(component.backoff * 2, RESTART_MAX_S)
            elif now >= component.next_start:
                component.restarts += 1
                self._spawn(component)

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM the children wave by wave; wait for each wave before the next."""
        self.stopping = True
        for wave in sorted({c.stop_wave for c in self.components}):
            self._stop_wave([c for c in self.components if c.stop_wave == wave], grace_s)

    def _stop_wave(self, components: list[Component], grace_s: float) -> None:
        for component in components:
            if component.running:
                assert component.proc is not None
                os.killpg(component.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for component in components:
            if component.proc is None:
                continue
            try:
                component.proc.wait(max(0.0, deadline - time.monotonic()))
                log.info(
                    "component.stopped", component=component.name, code=component.proc.returncode
                )
            except subprocess.TimeoutExpired:
                os.killpg(component.proc.pid, signal.SIGKILL)
                component.proc.wait(10)
                log.warning("component.killed", component=component.name, after_s=grace_s)
