"""Connectors: deliver records of a playpipe topic to a destination, at least once.

Each ``[[connectors]]`` table of ``playpipe.toml`` runs as its own process
(``playpipe connect NAME``) in its own consumer group, so a slow destination never slows
another. Records are sampled, filtered, stamped and trimmed, batched, written, and their
offsets committed only once the destination acknowledged them. Errors follow one tree::

    DeliveryError
    ├── TerminalError       the records go to <prefix>.dlq.<name>, with the reason in headers
    ├── TransientError      retried with exponential backoff and full jitter, then the DLQ
    └── BackpressureError   partitions paused for ``retry_after`` (polling goes on), retried

``playpipe dlq replay NAME`` sends dead-lettered records through the connector again.
Built-in types: webhook, postgres, parquet, kafka, file, datadog, elasticsearch, amplitude;
third parties register a :class:`Connector` subclass under the ``playpipe.connectors``
entry-point group. See ``docs/connectors.md``.

This package's ``__init__`` stays light (the configuration imports its settings): the
runtime is imported on first use of the names below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from playpipe.connectors.settings import ConnectorConfig, ConnectorSettings

if TYPE_CHECKING:
    from playpipe.connectors.app import run_connector
    from playpipe.connectors.base import Connector, HealthcheckError, Record, WriteResult
    from playpipe.connectors.replay import replay_dlq
    from playpipe.connectors.validate import check_file

__all__ = [
    "Connector",
    "ConnectorConfig",
    "ConnectorSettings",
    "HealthcheckError",
    "Record",
    "WriteResult",
    "check_file",
    "replay_dlq",
    "run_connector",
]

_LAZY = {
    "Connector": "playpipe.connectors.base",
    "HealthcheckError": "playpipe.connectors.base",
    "Record": "playpipe.connectors.base",
    "WriteResult": "playpipe.connectors.base",
    "check_file": "playpipe.connectors.validate",
    "replay_dlq": "playpipe.connectors.replay",
    "run_connector": "playpipe.connectors.app",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'playpipe.connectors' has no attribute {name!r}")
