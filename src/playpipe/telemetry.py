"""Counters every component shares, one name each, told apart by the ``component`` label.

Following Vector's component spec: ``received_events_total``, ``sent_events_total``,
``errors_total{stage}``, ``events_discarded_total``. Component-specific metrics live with
their component; these are defined once here so that any mix of components can share a
process (tests, ``playpipe up``) without registering a name twice.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    generate_latest,
    multiprocess,
)

from playpipe.errors import PlaypipeError

received_events = Counter(
    "playpipe_received_events_total", "Events read by a component.", ["component"]
)
sent_events = Counter(
    "playpipe_sent_events_total", "Messages acknowledged by Kafka.", ["component", "topic"]
)
errors = Counter("playpipe_errors_total", "Errors by component and stage.", ["component", "stage"])
discarded_events = Counter(
    "playpipe_events_discarded_total",
    "Events a component could neither deliver nor keep.",
    ["component"],
)
invalid_events = Counter(
    "playpipe_invalid_events_total",
    "Events sent to the invalid topic or a dead-letter topic, by component and reason.",
    ["component", "reason"],
)


def render() -> tuple[bytes, str]:
    """All metrics in Prometheus text format, summed over worker processes if there are several."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """Expose ``/metrics`` on ``host:port`` from a background thread (0: don't)."""
    if port:
        from prometheus_client import start_http_server

        try:
            start_http_server(port, addr=host)
        except OSError as exc:
            raise PlaypipeError(
                f"Cannot serve metrics on {host}:{port}: {exc.strerror}. Another process uses "
                "the port: stop it or choose another --metrics-port."
            ) from None
