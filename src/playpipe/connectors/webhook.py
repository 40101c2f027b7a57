"""The ``webhook`` connector: each batch POSTed as a JSON array or NDJSON.

Headers sent: ``Content-Type`` (``application/json`` or ``application/x-ndjson``), the
configured ``headers``, ``Authorization: Bearer <token>`` when ``bearer_token`` is set, and,
when ``hmac_secret`` is set, ``X-Playpipe-Timestamp: <unix seconds>`` and
``X-Playpipe-Signature: sha256=<hex>``, the HMAC-SHA256 of ``<timestamp>.<body>`` (the body
as sent, after gzip) with the secret, so a receiver can check origin and freshness.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import httpx
import orjson

from playpipe.connectors import http
from playpipe.connectors.base import Connector, Record, WriteResult
from playpipe.connectors.settings import WebhookSettings

SIGNATURE_HEADER = "X-Playpipe-Signature"
TIMESTAMP_HEADER = "X-Playpipe-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value: ``sha256=`` + HMAC-SHA256 of ``<timestamp>.<body>``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Receiver side: whether ``signature`` is right for this body and timestamp."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def encode_batch(records: list[dict[str, Any]], fmt: str) -> bytes:
    """A JSON array, or one JSON object per line (NDJSON, newline-terminated)."""
    if fmt == "ndjson":
        return b"".join(orjson.dumps(r) + b"\n" for r in records)
    return orjson.dumps(records)


class WebhookConnector(Connector[WebhookSettings]):
    """POSTs batches to ``url``; status codes mapped as in ``playpipe.connectors.http``."""

    settings_class = WebhookSettings

    def setup(self) -> None:
        s = self.settings
        self.client = httpx.Client(timeout=s.timeout_s, headers=self.static_headers())

    def static_headers(self) -> dict[str, str]:
        """Headers of every request (content type, custom headers, bearer token)."""
        s = self.settings
        kind = "application/x-ndjson" if s.format == "ndjson" else "application/json"
        headers = {"Content-Type": kind, "User-Agent": "playpipe-connector", **s.headers}
        if s.bearer_token:
            headers["Authorization"] = f"Bearer {s.bearer_token}"
        return headers

    def request_headers(self, body: bytes) -> dict[str, str]:
        """Per-request headers: the signature and its timestamp when signing is on."""
        if not self.settings.hmac_secret:
            return {}
        stamp = str(int(time.time()))
        return {
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(self.settings.hmac_secret, stamp, body),
        }

    def write(self, batch: list[Record]) -> WriteResult | None:
        headers: dict[str, str] = {}
        body = encode_batch([r.data for r in batch], self.settings.format)
        body = http.maybe_gzip(body, self.settings.gzip, headers)
        headers.update(self.request_headers(body))
        http.check(http.send(self.client, self.settings.url, body, headers))
        return None

    def healthcheck(self) -> None:
        auth = "bearer_token" if self.settings.bearer_token else "headers"
        http.probe(self.client, "HEAD", self.settings.url, url_key="url", auth_key=auth)

    def close(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
