"""The ``[collector]`` section of the configuration."""

from __future__ import annotations

from typing import Annotated

import msgspec

from playpipe.collector.enrich import EnrichSettings

Positive = Annotated[int, msgspec.Meta(ge=1)]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]


class RateLimit(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A token bucket: ``rate`` requests per second on average, bursts up to ``burst``."""

    rate: NonNegative = 0.0
    """Requests per second; 0 turns the limit off."""
    burst: Positive = 100


class CollectorSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The HTTP beacon collector."""

    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8080
    workers: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
    property_keys: list[str] = msgspec.field(default_factory=list)
    """Property keys accepted; a batch naming another key gets 403."""
    open: bool = False
    """Accept any property key (local use only; the demo configuration turns it on)."""
    cors_origins: list[str] = msgspec.field(default_factory=lambda: ["*"])
    """Origins allowed to send from a browser; ``*`` allows any."""
    max_body_bytes: Positive = 1_048_576
    """Largest body accepted, after gzip decompression; larger gets 413."""
    max_events: Positive = 1000
    """Most events in one batch; more gets 413."""
    per_key_limit: RateLimit = msgspec.field(default_factory=RateLimit)
    per_ip_limit: RateLimit = msgspec.field(default_factory=RateLimit)
    produce_timeout_ms: Annotated[int, msgspec.Meta(ge=100)] = 5000
    """How long a batch waits for Kafka's acknowledgement before it is spooled to disk."""
    spool_dir: str = ".playpipe/spool"
    spool_max_bytes: Positive = 1_073_741_824
    """When the spool holds this much, new batches get 503 with Retry-After."""
    invalid_body_cap_bytes: Positive = 65_536
    """Rejected bodies are kept on the invalid topic up to this many bytes."""
    enrich: EnrichSettings = msgspec.field(default_factory=EnrichSettings)
