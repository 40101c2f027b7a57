"""An in-process API over a store filled directly from synthetic records (no Kafka)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import anyio
import httpx
import msgspec
from starlette.types import ASGIApp

from playpipe.api.app import create_app
from playpipe.api.records import decode_view, decode_window
from playpipe.api.store import Batch, MetricsStore
from playpipe.config import Config

NOW = 1_767_268_800_000
"""2026-01-01T12:00:00Z: the clock of the in-process API."""


def fill(
    store: MetricsStore,
    windows: Iterable[dict[str, Any]] = (),
    views: Iterable[dict[str, Any]] = (),
) -> None:
    """Write records to the store as the ingest would (one batch)."""
    batch = Batch()
    batch.windows = [decode_window(msgspec.json.encode(w)) for w in windows]
    for v in views:
        raw = msgspec.json.encode(v)
        batch.views.append((decode_view(raw), raw))
    store.write(batch)


class ApiClient:
    """Synchronous requests to an ASGI app, in process (its lifespan is not run)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def get(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        async def request() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
                return await http.get(url, headers=headers)

        return anyio.run(request)


def client(
    store: MetricsStore,
    host: str = "127.0.0.1",
    tokens: dict[str, list[str]] | None = None,
    windows: list[str] | None = None,
) -> ApiClient:
    """A test client of the app over ``store``; no ingest, clock at :data:`NOW`."""
    config = Config()
    config.api.host = host
    config.api.tokens = tokens or {}
    config.streams.windows = windows or ["10s", "1m"]
    app = create_app(config, store, run_ingest=False, now_ms=lambda: NOW)
    return ApiClient(app)


def memory_store(tmp_path: Path) -> MetricsStore:
    """A fresh store file in ``tmp_path``."""
    return MetricsStore.in_dir(tmp_path / "store")
