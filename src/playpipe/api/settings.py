"""The ``[api]`` section of the configuration: the query API, its store and its tokens."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import msgspec

__all__ = ["ApiSettings", "is_loopback"]


class ApiSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The query API and dashboard (``playpipe api``)."""

    host: str = "127.0.0.1"
    """Address to listen on. Anything but loopback requires ``tokens``."""
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8088
    data_dir: str = ".playpipe/store"
    """Folder of the embedded metrics store (``metrics.duckdb``)."""
    group_id: str = ""
    """Consumer group of the store; empty: ``<prefix>-api``. Each API copy keeps a whole
    store, so copies that run side by side need a group each."""
    tokens: dict[str, list[str]] = {}
    """Bearer token → property keys it may read (``["*"]``: all). A key written
    ``sha256:<hex>`` holds the SHA-256 of the token instead of the token itself."""
    require_token: bool = False
    """Ask for a token on loopback too (always asked on any other address)."""
    retention_days: Annotated[int, msgspec.Meta(ge=1)] = 30
    """Windows and views older than this (by event time) are pruned from the store."""
    live_keepalive_s: Annotated[float, msgspec.Meta(gt=0)] = 15.0
    """Seconds between keep-alive comments on ``/v1/live``."""

    @property
    def auth_required(self) -> bool:
        """Whether every data request needs a bearer token."""
        return self.require_token or not is_loopback(self.host)


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1; False for any other address or name."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
