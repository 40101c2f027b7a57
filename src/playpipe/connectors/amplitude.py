"""The ``amplitude`` connector: events through Amplitude's HTTP V2 API (``/2/httpapi``).

Each record becomes an Amplitude event: ``event_type``, ``device_id`` (the viewer, else
the view), ``time`` (the record's ``timestamp``), ``insert_id`` = ``event_id`` (Amplitude
drops repeats of an insert_id seen in the last 7 days, so redelivery is harmless), device
and geo fields mapped to Amplitude's, and the record itself in ``event_properties``.

Requests hold at most 2,000 events and 1 MB. A 400 that lists rejected events
(``events_with_invalid_fields`` / ``events_with_missing_fields``) dead-letters those and
sends the rest again; 429 pauses (``Retry-After``, else 15 s); 5xx is retried.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from playpipe.connectors import http
from playpipe.connectors.base import Connector, HealthcheckError, Record, WriteResult
from playpipe.connectors.settings import AmplitudeSettings
from playpipe.errors import BackpressureError, TerminalError

MAX_EVENTS = 2000
MAX_BYTES = 1_000_000
THROTTLE_PAUSE_S = 15.0
_DEVICE = {
    "os": "os_name",
    "os_version": "os_version",
    "model": "device_model",
    "manufacturer": "device_manufacturer",
}
_GEO = {"country": "country", "region": "region", "city": "city"}


def to_amplitude(data: dict[str, Any]) -> dict[str, Any]:
    """An Amplitude HTTP V2 event for a record."""
    event: dict[str, Any] = {
        "event_type": data.get("event_type", "playpipe_record"),
        "device_id": data.get("viewer_id") or data.get("view_id"),
        "insert_id": data.get("event_id"),
        "event_properties": data,
    }
    if isinstance(data.get("timestamp"), int):
        event["time"] = data["timestamp"]
    for node, mapping in (("device", _DEVICE), ("geo", _GEO)):
        values = data.get(node) or {}
        for src, dst in mapping.items():
            if values.get(src) is not None:
                event[dst] = values[src]
    player = data.get("player") or {}
    if player.get("version"):
        event["app_version"] = player["version"]
    return {k: v for k, v in event.items() if v is not None}


def rejected(answer: dict[str, Any]) -> dict[int, str]:
    """Index -> reason of the events a 400 answer rejects one by one."""
    out: dict[int, str] = {}
    for key in ("events_with_invalid_fields", "events_with_missing_fields"):
        for field, indices in (answer.get(key) or {}).items():
            for index in indices:
                out[int(index)] = f"{key.removeprefix('events_with_')}: {field}"
    return out


class AmplitudeConnector(Connector[AmplitudeSettings]):
    """Posts events to ``<url>/2/httpapi``."""

    settings_class = AmplitudeSettings

    def setup(self) -> None:
        s = self.settings
        self.endpoint = s.url.rstrip("/") + "/2/httpapi"
        self.client = httpx.Client(
            timeout=s.timeout_s, headers={"Content-Type": "application/json"}
        )

    def _body(self, events: list[bytes]) -> bytes:
        head = orjson.dumps(self.settings.api_key)
        options = b""
        if self.settings.min_id_length:
            options = b',"options":{"min_id_length":%d}' % self.settings.min_id_length
        return b'{"api_key":' + head + options + b',"events":[' + b",".join(events) + b"]}"

    def write(self, batch: list[Record]) -> WriteResult | None:
        result = WriteResult()
        encoded = [orjson.dumps(to_amplitude(r.data)) for r in batch]
        for part in http.chunks([len(e) for e in encoded], MAX_EVENTS, MAX_BYTES, overhead=200):
            records = [batch[i] for i in part]
            result.failed += self._send(records, [encoded[i] for i in part])
        return result

    def _send(self, records: list[Record], events: list[bytes]) -> list[tuple[Record, Any]]:
        response = http.send(self.client, self.endpoint, self._body(events), {})
        if response.status_code == 429 and not response.headers.get("retry-after"):
            raise BackpressureError("HTTP 429: throttled", retry_after=THROTTLE_PAUSE_S)
        if response.status_code != 400:
            http.check(response)
            return []
        answer = response.json() if response.content else {}
        bad = {i: why for i, why in rejected(answer).items() if 0 <= i < len(records)}
        if not bad:
            raise TerminalError(f"HTTP 400: {answer.get('error') or response.text[:300]}")
        failed = [
            (records[i], TerminalError(f"Amplitude rejected it: {why}")) for i, why in bad.items()
        ]
        rest = [i for i in range(len(records)) if i not in bad]
        if rest:  # nothing of a 400 was ingested: send the others again at once
            failed += self._send([records[i] for i in rest], [events[i] for i in rest])
        return failed

    def healthcheck(self) -> None:
        probe = self._body([])
        response = http.probe(
            self.client, "POST", self.endpoint, url_key="url", auth_key="api_key", content=probe
        )
        text = response.text.lower()
        if response.status_code == 400 and "invalid api_key" in text:
            raise HealthcheckError("api_key", "Amplitude refused the API key", "Check `api_key`.")
        if response.status_code >= 500:
            raise HealthcheckError(
                "url",
                f"{self.endpoint} answered {response.status_code}",
                "Check `url` and Amplitude's status.",
            )

    def close(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
