"""Run the API: granian serving the Starlette app, with the store's consumer inside it.

One worker process: the store is one DuckDB file, opened read-write by one process. The
worker's lifespan starts the Kafka consumer that fills the store and stops it (after its
current batch) on SIGTERM / Ctrl-C.
"""

from __future__ import annotations

import os

import msgspec
from starlette.applications import Starlette

from playpipe import log as logging_setup
from playpipe.api.auth import Tokens
from playpipe.api.ingest import group_for
from playpipe.config import Config
from playpipe.log import get_logger
from playpipe.ports import ensure_free

__all__ = ["app_factory", "serve"]

log = get_logger("api")
CONFIG_ENV = "_PLAYPIPE_API_CONFIG"


def app_factory() -> Starlette:
    """Granian's target in the worker: the configuration comes from the parent process."""
    from playpipe.api.app import create_app

    logging_setup.configure()
    config = msgspec.json.decode(os.environ[CONFIG_ENV], type=Config)
    return create_app(config)


def serve(config: Config) -> None:
    """Serve until SIGINT/SIGTERM."""
    from granian import Granian
    from granian.constants import Interfaces, Loops

    settings = config.api
    Tokens(settings.tokens, settings.auth_required)  # refuse now, in one clear message
    ensure_free(settings.host, settings.port, "query API", "--port (or api.port)")
    os.environ[CONFIG_ENV] = msgspec.json.encode(config).decode()
    log.info(
        "api.starting",
        address=f"{settings.host}:{settings.port}",
        store=settings.data_dir,
        group=group_for(config),
        kafka=config.kafka.bootstrap_servers,
        auth="token" if settings.auth_required else "loopback",
        grants=len(settings.tokens),
    )
    Granian(
        "playpipe.api.service:app_factory",
        factory=True,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=1,
        loop=Loops.uvloop,
        log_access=False,
        respawn_failed_workers=True,
    ).serve()
