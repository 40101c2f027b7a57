"""Connector metrics, and the small HTTP server that exposes them with health checks.

Shared counters come from ``playpipe.telemetry`` (``received_events_total``,
``errors_total``, ``invalid_events_total`` with component ``connector-<name>``); the ones
below are specific to connectors. ``/healthz`` says the loop is alive, ``/readyz`` runs the
connector's healthcheck (cached for a few seconds), ``/metrics`` is Prometheus text.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import Counter, Gauge, Histogram

from playpipe import telemetry

delivered = Counter(
    "playpipe_connector_delivered_events_total",
    "Records the destination acknowledged.",
    ["connector"],
)
retried = Counter(
    "playpipe_connector_retried_events_total",
    "Records sent again after a transient failure or backpressure.",
    ["connector"],
)
dead_lettered = Counter(
    "playpipe_connector_dead_lettered_events_total",
    "Records sent to the connector's dead-letter topic.",
    ["connector", "error"],
)
dropped = Counter(
    "playpipe_connector_filtered_events_total",
    "Records left out on purpose: by the filter, by sampling, or tombstones (no value).",
    ["connector", "by"],
)
batch_seconds = Histogram(
    "playpipe_connector_batch_seconds",
    "Time to deliver one batch, retries included.",
    ["connector"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
lag_messages = Gauge(
    "playpipe_connector_lag_messages",
    "Messages between the consumer position and the end of the partition.",
    ["connector", "partition"],
)
lag_seconds = Gauge(
    "playpipe_connector_lag_seconds",
    "Age of the oldest record read but not yet delivered, or of the last read while behind.",
    ["connector"],
)


def component(name: str) -> str:
    """The ``component`` label of a connector in the shared counters."""
    return f"connector-{name}"


class HealthServer:
    """Serves ``/metrics``, ``/healthz`` and ``/readyz`` from a daemon thread."""

    def __init__(self, port: int, ready: Callable[[], str | None], host: str = "127.0.0.1"):
        self.ready = ready
        self.alive_at = time.monotonic()
        self._cache: tuple[float, str | None] = (0.0, None)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def beat(self) -> None:
        """Called by the loop on every round."""
        self.alive_at = time.monotonic()

    def readiness(self) -> str | None:
        """The healthcheck's problem, or ``None``; re-run at most every 5 s."""
        with self._lock:
            at, problem = self._cache
            if time.monotonic() - at > 5.0:
                problem = self.ready()
                self._cache = (time.monotonic(), problem)
            return problem

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    body, kind = telemetry.render()
                    self._reply(200, body, kind)
                elif self.path == "/healthz":
                    stale = time.monotonic() - owner.alive_at > 60
                    self._reply(503 if stale else 200, b"stalled\n" if stale else b"ok\n")
                elif self.path == "/readyz":
                    problem = owner.readiness()
                    text = f"{problem}\n" if problem else "ok\n"
                    self._reply(503 if problem else 200, text.encode())
                else:
                    self._reply(404, b"not found\n")

            def _reply(self, status: int, body: bytes, kind: str = "text/plain") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler
