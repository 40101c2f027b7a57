"""The collector's Prometheus metrics.

Names follow one scheme across playpipe's components (``received_events_total``,
``sent_events_total``, ``errors_total{stage}``, ``events_discarded_total``) with a
``component`` label, so one dashboard reads them all. With several worker processes the
service sets ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` sums the workers.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from playpipe import telemetry

COMPONENT = "collector"

received_events = telemetry.received_events.labels(COMPONENT)
accepted_events = Counter(
    "playpipe_accepted_events_total", "Events accepted (202) and handed to Kafka or the spool."
)
rejected_events = Counter(
    "playpipe_rejected_events_total",
    "Events rejected, by reason; kept on the invalid topic.",
    ["reason"],
)
rejected_requests = Counter(
    "playpipe_rejected_requests_total", "Requests refused as a whole, by HTTP status.", ["status"]
)
spooled_events = Counter(
    "playpipe_spooled_events_total", "Events fsynced to the local spool because Kafka was away."
)
replayed_events = Counter(
    "playpipe_replayed_events_total", "Spooled events produced to Kafka after it came back."
)
sent_events = telemetry.sent_events
errors = telemetry.errors
discarded_events = telemetry.discarded_events.labels(COMPONENT)
torn_records = Counter(
    "playpipe_spool_torn_records_total", "Spool records skipped because their checksum failed."
)
produce_latency = Histogram(
    "playpipe_produce_latency_seconds",
    "From produce() to Kafka's acknowledgement of a whole batch.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
spool_bytes = Gauge(
    "playpipe_spool_bytes", "Bytes waiting in the local spool.", multiprocess_mode="livesum"
)


render = telemetry.render
