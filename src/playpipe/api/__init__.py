"""The query API and live dashboard over the embedded metrics store (``playpipe api``).

    MetricsStore   DuckDB file of window results and view records (``store``)
    StoreIngest    Kafka consumer that fills it (``ingest``)
    create_app     the ASGI app: ``/v1/...`` JSON, ``/v1/live`` events, the dashboard (``app``)
    serve          run it on granian (``service``)
    ApiSettings    the ``[api]`` configuration section (``settings``)

Names are imported lazily: the configuration imports ``ApiSettings`` without pulling in
DuckDB or the web framework.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playpipe.api.app import create_app
    from playpipe.api.ingest import StoreIngest
    from playpipe.api.service import serve
    from playpipe.api.settings import ApiSettings
    from playpipe.api.store import MetricsStore

__all__ = ["ApiSettings", "MetricsStore", "StoreIngest", "create_app", "serve"]

_WHERE = {
    "ApiSettings": "playpipe.api.settings",
    "MetricsStore": "playpipe.api.store",
    "StoreIngest": "playpipe.api.ingest",
    "create_app": "playpipe.api.app",
    "serve": "playpipe.api.service",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'playpipe.api' has no attribute {name!r}")
