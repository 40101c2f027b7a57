"""Run the collector: granian serving the raw ASGI app in N worker processes.

Each worker has its own Kafka producer and its own spool slot (``<spool_dir>/slot-<n>``,
held with an exclusive file lock). Slots are claimed lowest first, so after a crash or a
restart with the same number of workers every slot is claimed again and its spool replayed.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path
from typing import IO

import msgspec

from playpipe import log as logging_setup
from playpipe.collector.app import CollectorApp, Topics
from playpipe.collector.enrich import Enricher
from playpipe.collector.sink import KafkaSink
from playpipe.config import Config
from playpipe.errors import ConfigError
from playpipe.kafka.settings import producer_config
from playpipe.kafka.topics import topic_name
from playpipe.log import get_logger
from playpipe.ports import ensure_free

log = get_logger("collector")

CONFIG_ENV = "_PLAYPIPE_COLLECTOR_CONFIG"
MAX_SLOTS = 256
_held_locks: list[IO[bytes]] = []


def claim_spool_slot(base: Path) -> Path:
    """Lock and return the first free ``slot-<n>`` folder under ``base``."""
    base.mkdir(parents=True, exist_ok=True)
    for n in range(MAX_SLOTS):
        lock = (base / f"slot-{n}.lock").open("ab")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        _held_locks.append(lock)  # held for the life of the process
        slot = base / f"slot-{n}"
        slot.mkdir(exist_ok=True)
        return slot
    raise ConfigError(f"All {MAX_SLOTS} spool slots under {base} are locked by other collectors")


def build_app(config: Config) -> CollectorApp:
    """The collector app for one worker process."""
    settings = config.collector
    topics = Topics(
        raw=topic_name(config, "beacons.raw"), invalid=topic_name(config, "beacons.invalid")
    )

    def sink_factory() -> KafkaSink:
        slot = claim_spool_slot(Path(settings.spool_dir))
        sink = KafkaSink(
            producer_config(config.kafka, **{"client.id": f"playpipe-collector-{slot.name}"}),
            slot,
            settings.spool_max_bytes,
            settings.produce_timeout_ms / 1000,
        )
        log.info(
            "collector.worker_ready",
            pid=os.getpid(),
            spool=slot,
            spooled_bytes=sink.spool.size_bytes,
        )
        return sink

    return CollectorApp(settings, topics, sink_factory, Enricher(settings.enrich))


def app_factory() -> CollectorApp:
    """Granian's target in each worker: the configuration comes from the parent process."""
    logging_setup.configure()
    config = msgspec.json.decode(os.environ[CONFIG_ENV], type=Config)
    return build_app(config)


def serve(config: Config) -> None:
    """Serve until SIGINT/SIGTERM; in-flight requests finish and producers flush first."""
    from granian import Granian
    from granian.constants import Interfaces, Loops

    settings = config.collector
    ensure_free(settings.host, settings.port, "collector", "--port (or collector.port)")
    Enricher(settings.enrich).close()  # fail now, in one process, if a database is unreadable
    os.environ[CONFIG_ENV] = msgspec.json.encode(config).decode()
    if settings.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="playpipe-metrics-")
    log.info(
        "collector.starting",
        address=f"{settings.host}:{settings.port}",
        workers=settings.workers,
        kafka=config.kafka.bootstrap_servers,
        open=settings.open,
        keys=len(settings.property_keys),
    )
    Granian(
        "playpipe.collector.service:app_factory",
        factory=True,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.workers,
        loop=Loops.uvloop,
        log_access=False,
        respawn_failed_workers=True,
        backlog=2048,
    ).serve()
