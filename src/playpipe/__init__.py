"""playpipe: a real-time video telemetry pipeline on Apache Kafka.

Players send beacons; the collector validates and enriches them into Kafka; the stream
stages standardize them into one data dictionary and compute quality-of-experience metrics
in event-time windows; connectors deliver clean events to the destinations a video
business uses.
"""

from playpipe.errors import ConfigError, KafkaUnavailableError, PlaypipeError

__version__ = "0.1.0"

__all__ = ["ConfigError", "KafkaUnavailableError", "PlaypipeError", "__version__"]
