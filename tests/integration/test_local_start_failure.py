"""A Kafka node that dies while starting is reported at once, with how it ended."""

from __future__ import annotations

from pathlib import Path

import pytest

from playpipe.config import LocalKafkaSettings
from playpipe.errors import LocalKafkaError
from playpipe.kafka.local import LocalCluster


def test_a_node_that_cannot_start_is_reported_with_its_exit_code(tmp_path: Path) -> None:
    # A 1 MB heap: the JVM refuses to start (the storage format runs with its own heap).
    cluster = LocalCluster(LocalKafkaSettings(nodes=1, port_base=39392, heap_mb=1), tmp_path)
    with pytest.raises(LocalKafkaError, match=r"exited during start-up \(exit code 1\)") as err:
        cluster.start()
    assert "heap" in str(err.value).lower()
    assert not cluster.running()
