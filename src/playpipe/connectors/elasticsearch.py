"""The ``elasticsearch`` connector: ``_bulk`` indexing (Elasticsearch or OpenSearch).

Each record is an ``index`` action with a stable ``_id`` (``event_id``; ``view_id`` for
views; the window and its dimensions for metrics), so a redelivered batch overwrites the
same documents instead of adding copies. The ``_bulk`` answer is read item by item: items
rejected with 429 are retried after a pause, 5xx items with backoff, other 4xx items (a
mapping conflict, a malformed document) go to the dead-letter topic alone.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx
import orjson

from playpipe.connectors import http
from playpipe.connectors.base import Connector, HealthcheckError, Record, WriteResult
from playpipe.connectors.settings import ElasticsearchSettings
from playpipe.connectors.shapes import window_key
from playpipe.errors import BackpressureError, DeliveryError, TerminalError, TransientError


def document_id(topic: str, data: dict[str, Any]) -> str | None:
    """The ``_id`` of a record: its natural key on this topic."""
    if topic == "views":
        return data.get("view_id")
    if topic.startswith("metrics."):
        key = list(window_key(data))
        return hashlib.sha1(orjson.dumps(key, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return data.get("event_id")


def item_error(item: dict[str, Any]) -> DeliveryError | None:
    """The error of one ``_bulk`` response item (``None`` when it succeeded)."""
    result: dict[str, Any] = next(iter(item.values()), {}) if item else {}
    status = int(result.get("status", 500))
    if 200 <= status < 300:
        return None
    error = result.get("error") or {}
    reason = error.get("reason", "") if isinstance(error, dict) else str(error)
    kind = error.get("type", "") if isinstance(error, dict) else ""
    message = f"HTTP {status} {kind}: {reason}"[:500]
    if status == 429:
        return BackpressureError(message, retry_after=1.0)
    if status >= 500:
        return TransientError(message)
    return TerminalError(message)


class ElasticsearchConnector(Connector[ElasticsearchSettings]):
    """Bulk-indexes records into ``index``."""

    settings_class = ElasticsearchSettings

    def setup(self) -> None:
        s = self.settings
        headers = {"Content-Type": "application/x-ndjson"}
        if s.api_key:
            headers["Authorization"] = f"ApiKey {s.api_key}"
        elif s.username:
            token = base64.b64encode(f"{s.username}:{s.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        self.client = httpx.Client(timeout=s.timeout_s, headers=headers)
        self.base = s.url.rstrip("/")

    def _body(self, batch: list[Record]) -> bytes:
        lines = []
        for record in batch:
            meta: dict[str, Any] = {"_index": self.settings.index}
            doc_id = document_id(self.settings.topic, record.data)
            if doc_id is not None:
                meta["_id"] = doc_id
            lines.append(orjson.dumps({"index": meta}))
            lines.append(orjson.dumps(record.data))
        return b"\n".join(lines) + b"\n"

    def write(self, batch: list[Record]) -> WriteResult | None:
        response = http.send(self.client, f"{self.base}/_bulk", self._body(batch), {})
        http.check(response)
        answer = response.json()
        if not answer.get("errors"):
            return None
        items = answer.get("items") or []
        if len(items) != len(batch):
            raise TransientError(f"_bulk answered {len(items)} items for {len(batch)} actions")
        result = WriteResult()
        for record, item in zip(batch, items, strict=True):
            error = item_error(item)
            if error is not None:
                result.failed.append((record, error))
        return result

    def healthcheck(self) -> None:
        auth = "api_key" if self.settings.api_key else "username"
        response = http.probe(self.client, "GET", f"{self.base}/", url_key="url", auth_key=auth)
        if response.status_code >= 400:
            raise HealthcheckError(
                "url", f"{self.base}/ answered HTTP {response.status_code}", "Check `url`."
            )

    def close(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
