"""Typed, strict configuration of connectors: one ``[[connectors]]`` table each.

Every table is tagged by ``type`` and rejects unknown keys. Settings shared by every type
(topic, filter, fields, sampling, timestamp, batching, retries) live on ``ConnectorSettings``;
each destination adds its own. This module imports nothing heavy: ``playpipe.config``
imports it to type the ``connectors`` list.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

import msgspec
from msgspec import Meta

Name = Annotated[str, Meta(pattern="^[a-z0-9][a-z0-9_-]{0,62}$")]
PositiveInt = Annotated[int, Meta(ge=1)]
Fraction = Annotated[float, Meta(ge=0.0, le=1.0)]
Seconds = Annotated[float, Meta(gt=0)]


class _Table(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base of every nested table: strict, keyword-only."""


class FieldSelection(_Table):
    """Which fields reach the destination: ``include`` first, then ``exclude``, then ``rename``.

    Paths are dotted (``player.name``). An empty ``include`` keeps every field.
    """

    include: list[str] = msgspec.field(default_factory=list)
    exclude: list[str] = msgspec.field(default_factory=list)
    rename: dict[str, str] = msgspec.field(default_factory=dict)


class BatchSettings(_Table):
    """A batch is sent when any limit is reached: events, bytes of input, or age."""

    max_events: PositiveInt = 500
    max_bytes: PositiveInt = 1_000_000
    max_age_ms: PositiveInt = 1000


class RetrySettings(_Table):
    """Transient failures are retried with exponential backoff and full jitter.

    After ``max_attempts`` attempts, or once ``budget_s`` seconds passed since the first,
    the records go to the dead-letter topic.
    """

    max_attempts: PositiveInt = 30
    initial_backoff_ms: PositiveInt = 200
    max_backoff_ms: PositiveInt = 30_000
    budget_s: Seconds = 3600.0


class ConnectorSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, tag_field="type"):
    """Settings every connector has; ``type`` selects the destination."""

    name: Name
    """Unique name: consumer group ``<prefix>-connector-<name>``, DLQ ``<prefix>.dlq.<name>``."""
    topic: str = "events"
    """Short topic name read: ``events``, ``views``, ``metrics.10s``…"""
    filter: str = ""
    """Expression over the record, e.g. ``event_type in ["error", "view_end"]``."""
    fields: FieldSelection = msgspec.field(default_factory=FieldSelection)
    sample: Fraction = 1.0
    """Share of views kept, by a stable hash of ``view_id`` (whole views kept or dropped)."""
    timestamp: Literal["event", "server", "client"] = "event"
    """Source of the top-level ``timestamp`` field: event_ts, received_at or client_ts."""
    batch: BatchSettings = msgspec.field(default_factory=BatchSettings)
    retry: RetrySettings = msgspec.field(default_factory=RetrySettings)
    metrics_port: Annotated[int, Meta(ge=0, le=65535)] = 0
    """Serve ``/metrics``, ``/healthz`` and ``/readyz`` on 127.0.0.1 at this port (0: off)."""


class WebhookSettings(ConnectorSettings, tag="webhook"):
    """HTTP POST of each batch as a JSON array or NDJSON."""

    url: str
    format: Literal["json", "ndjson"] = "json"
    gzip: bool = False
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    bearer_token: str = ""
    hmac_secret: str = ""
    """Signs the body: ``X-Playpipe-Signature: sha256=<hex>`` over ``<timestamp>.<body>``."""
    timeout_s: Seconds = 10.0


class PostgresSettings(ConnectorSettings, tag="postgres"):
    """Rows in PostgreSQL: COPY into a staging table, then an idempotent insert."""

    dsn: str
    """libpq connection string or URL, e.g. ``postgresql://user@host:5432/db``."""
    table: str = ""
    """Table name; empty: ``playpipe_<topic>`` with dots as underscores."""
    db_schema: str = msgspec.field(default="public", name="schema")
    """PostgreSQL schema of the table."""
    create_table: bool = True


class ParquetSettings(ConnectorSettings, tag="parquet"):
    """Parquet files under ``dt=YYYY-MM-DD/hour=HH/``, one per topic-partition offset range."""

    path: str
    """A local folder, or a URL such as ``s3://bucket/prefix`` (needs ``playpipe[s3]``)."""
    compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    storage_options: dict[str, str] = msgspec.field(default_factory=dict)
    """Passed to the fsspec filesystem of a URL (``key``, ``secret``, ``endpoint_url``…)."""


class KafkaSinkSettings(ConnectorSettings, tag="kafka"):
    """Another topic, on this cluster or another one."""

    target_topic: str
    """Full name of the topic written to."""
    bootstrap_servers: str = ""
    """Empty: the cluster read from (``kafka.bootstrap_servers``)."""
    client: dict[str, str] = msgspec.field(default_factory=dict)
    """librdkafka settings of the target cluster (``security.protocol``, ``sasl.*``…)."""
    key_field: str = "view_id"


class FileSettings(ConnectorSettings, tag="file"):
    """NDJSON appended to a file, or ``-`` for stdout: for debugging."""

    path: str = "-"


class DatadogSettings(ConnectorSettings, tag="datadog"):
    """Metric windows as series (``/api/v2/series``), events and views as logs."""

    api_key: str
    api_url: str = "https://api.datadoghq.com"
    logs_url: str = "https://http-intake.logs.datadoghq.com"
    service: str = "playpipe"
    source: str = "playpipe"
    tags: list[str] = msgspec.field(default_factory=list)
    metric_prefix: str = "playpipe.qoe"
    timeout_s: Seconds = 10.0


class ElasticsearchSettings(ConnectorSettings, tag="elasticsearch"):
    """Documents through ``_bulk`` (Elasticsearch or OpenSearch), ``_id`` = event id."""

    url: str
    index: str = "playpipe-events"
    api_key: str = ""
    username: str = ""
    password: str = ""
    timeout_s: Seconds = 30.0


class AmplitudeSettings(ConnectorSettings, tag="amplitude"):
    """Events through Amplitude's HTTP V2 API, ``insert_id`` = event id."""

    api_key: str
    url: str = "https://api2.amplitude.com"
    min_id_length: PositiveInt | None = None
    timeout_s: Seconds = 10.0


class PluginSettings(ConnectorSettings, tag="plugin"):
    """A third-party connector registered under the ``playpipe.connectors`` entry points."""

    plugin: str
    options: dict[str, object] = msgspec.field(default_factory=dict)
    """The plugin's own settings, validated by its strict config class at start."""


ConnectorConfig: TypeAlias = (
    WebhookSettings
    | PostgresSettings
    | ParquetSettings
    | KafkaSinkSettings
    | FileSettings
    | DatadogSettings
    | ElasticsearchSettings
    | AmplitudeSettings
    | PluginSettings
)
"""Any ``[[connectors]]`` table, selected by its ``type``."""

CONNECTOR_TYPES: tuple[type[ConnectorSettings], ...] = ConnectorConfig.__args__
"""Every settings class, in documentation order."""

SECRET_KEYS = ("bearer_token", "hmac_secret", "api_key", "password", "dsn")
"""Keys never written to logs."""
