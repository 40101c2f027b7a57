"""An admin client that fails with a sentence, not a traceback."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ClusterMetadata

from playpipe.config import KafkaSettings
from playpipe.errors import KafkaUnavailableError
from playpipe.kafka.settings import admin_config

# librdkafka reports every refused connection; the error we raise says it once, clearly.
_client_log = logging.getLogger("playpipe.kafka.client")


@dataclass
class Cluster:
    """A connected admin client and the metadata it fetched."""

    admin: AdminClient
    metadata: ClusterMetadata

    @property
    def broker_count(self) -> int:
        return len(self.metadata.brokers)


def connect(settings: KafkaSettings) -> Cluster:
    """Reach the cluster at ``settings.bootstrap_servers`` or raise a clear error."""
    admin = AdminClient(admin_config(settings, logger=_client_log))
    try:
        metadata = admin.list_topics(timeout=settings.timeout_s)
    except KafkaException as exc:
        raise KafkaUnavailableError(
            f"Cannot reach Kafka at {settings.bootstrap_servers} within {settings.timeout_s:g} s "
            f"({exc.args[0].str() if exc.args else exc}). Is it running? Start a local one with "
            "`playpipe kafka start`, or pass --bootstrap-servers / set "
            "PLAYPIPE_KAFKA_BOOTSTRAP_SERVERS to a reachable cluster."
        ) from None
    return Cluster(admin=admin, metadata=metadata)
