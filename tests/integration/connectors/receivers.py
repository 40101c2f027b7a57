"""Real HTTP receivers on 127.0.0.1, in a thread: a webhook and three SaaS look-alikes.

Each checks requests against the vendor's documented format and limits and answers with the
vendor's status codes; tests read what was accepted, can take the server down and bring it
back on the same port (an outage), slow it down, or script answers.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from playpipe.connectors.webhook import verify

Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    raw: bytes = b""
    """The body as sent (before gzip decompression): what a signature covers."""


@dataclass
class Receiver:
    """A server whose ``handle(request) -> Reply`` decides every answer."""

    handle: Callable[[Request], Reply]
    port: int = 0
    delay_s: float = 0.0
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None
    down: bool = False
    sockets: set[Any] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Receiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with owner.lock:
                    owner.sockets.add(self.connection)

            def _serve(self) -> None:
                if owner.down:  # taken down: drop the kept-alive connection, answer nothing
                    self.close_connection = True
                    return
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = (
                    gzip.decompress(raw) if self.headers.get("Content-Encoding") == "gzip" else raw
                )
                headers = {k.lower(): v for k, v in self.headers.items()}
                request = Request(self.command, self.path, headers, body, raw)
                if owner.delay_s:
                    time.sleep(owner.delay_s)
                status, headers, payload = owner.handle(request)
                with owner.lock:
                    owner.requests.append(request)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_HEAD = _serve

            def log_message(self, format: str, *args: object) -> None:
                return

        self.down = False
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        """Take the server down: connections are refused until :meth:`start` again."""
        self.down = True
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self.sockets.clear()

    def posts(self) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.method == "POST"]


def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> Reply:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(data).encode(),
    )


# -- webhook -----------------------------------------------------------------------------------
class WebhookLogic:
    """Accepts JSON arrays or NDJSON; checks the bearer token and the HMAC signature."""

    def __init__(self, token: str = "", secret: str = "", fail_with: int = 0) -> None:
        self.token = token
        self.secret = secret
        self.fail_with = fail_with
        self.batches: list[list[dict[str, Any]]] = []
        self.script: list[Reply] = []

    def __call__(self, request: Request) -> Reply:
        if request.method == "HEAD":
            return 200, {}, b""
        if self.token and request.headers.get("authorization") != f"Bearer {self.token}":
            return 401, {}, b"bad token"
        if self.secret:
            stamp = request.headers.get("x-playpipe-timestamp", "")
            signature = request.headers.get("x-playpipe-signature", "")
            if not verify(self.secret, stamp, request.raw, signature):
                return 401, {}, b"bad signature"
        if self.script:
            return self.script.pop(0)
        if self.fail_with:
            return self.fail_with, {}, b"refused"
        if request.headers.get("content-type") == "application/x-ndjson":
            batch = [json.loads(line) for line in request.body.splitlines() if line]
        else:
            batch = json.loads(request.body)
        self.batches.append(batch)
        return 200, {}, b"ok"

    def records(self) -> list[dict[str, Any]]:
        return [r for b in self.batches for r in b]


# -- Datadog -----------------------------------------------------------------------------------
class DatadogLogic:
    """``/api/v1/validate``, ``/api/v2/logs`` and ``/api/v2/series`` with their limits."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.logs: list[list[dict[str, Any]]] = []
        self.series: list[list[dict[str, Any]]] = []
        self.problems: list[str] = []

    def __call__(self, request: Request) -> Reply:
        if request.headers.get("dd-api-key") != self.api_key:
            return _json(403, {"errors": ["Forbidden"]})
        if request.path == "/api/v1/validate":
            return _json(200, {"valid": True})
        if request.path == "/api/v2/logs":
            return self._logs(request)
        if request.path == "/api/v2/series":
            return self._series(request)
        return _json(404, {"errors": ["Not found"]})

    def _logs(self, request: Request) -> Reply:
        if len(request.body) > 5 * 1000 * 1000:
            return _json(413, {"errors": ["Payload too large"]})
        items = json.loads(request.body)
        if not isinstance(items, list) or len(items) > 1000:
            return _json(400, {"errors": ["Bad request"]})
        for item in items:
            if not all(k in item for k in ("ddsource", "service", "message")):
                self.problems.append(f"log without ddsource/service/message: {item}")
        self.logs.append(items)
        return _json(202, {})

    def _series(self, request: Request) -> Reply:
        if len(request.body) > 512_000:
            return _json(413, {"errors": ["Payload too large"]})
        payload = json.loads(request.body)
        for series in payload.get("series", []):
            points = series.get("points") or []
            ok = isinstance(series.get("metric"), str) and series.get("type") in (0, 1, 2, 3)
            ok = ok and all(
                isinstance(p.get("timestamp"), int) and isinstance(p.get("value"), int | float)
                for p in points
            )
            if not ok or not points:
                return _json(400, {"errors": [f"invalid series {series}"]})
        self.series.append(payload["series"])
        return _json(202, {"errors": []})


# -- Elasticsearch -------------------------------------------------------------------------------
class ElasticsearchLogic:
    """``GET /`` and ``POST /_bulk`` (NDJSON action/source pairs, per-item results).

    A document with ``"poison": true`` fails alone with a 400 mapping error; the first
    ``reject_first`` items are refused with 429, as a busy cluster does.
    """

    def __init__(self, reject_first: int = 0) -> None:
        self.docs: dict[tuple[str, str], dict[str, Any]] = {}
        self.bulk_sizes: list[int] = []
        self.reject_first = reject_first

    def __call__(self, request: Request) -> Reply:
        if request.method == "GET" and request.path == "/":
            return _json(200, {"version": {"number": "8.15.0"}, "tagline": "You Know, for Search"})
        if request.path != "/_bulk":
            return _json(404, {"error": "no handler"})
        if request.headers.get(
            "content-type"
        ) != "application/x-ndjson" or not request.body.endswith(b"\n"):
            return _json(400, {"error": "The bulk request must be terminated by a newline [\\n]"})
        lines = request.body.splitlines()
        items, errors = [], False
        for action_line, source_line in zip(lines[::2], lines[1::2], strict=True):
            action = json.loads(action_line)["index"]
            source = json.loads(source_line)
            if self.reject_first > 0:
                self.reject_first -= 1
                items.append(
                    {
                        "index": {
                            "status": 429,
                            "error": {
                                "type": "es_rejected_execution_exception",
                                "reason": "queue full",
                            },
                        }
                    }
                )
                errors = True
            elif source.get("poison"):
                items.append(
                    {
                        "index": {
                            "status": 400,
                            "error": {
                                "type": "mapper_parsing_exception",
                                "reason": "failed to parse field [poison]",
                            },
                        }
                    }
                )
                errors = True
            else:
                key = (action["_index"], action["_id"])
                created = key not in self.docs
                self.docs[key] = source
                items.append(
                    {
                        "index": {
                            "_index": action["_index"],
                            "_id": action["_id"],
                            "status": 201 if created else 200,
                        }
                    }
                )
        self.bulk_sizes.append(len(items))
        return _json(200, {"took": 1, "errors": errors, "items": items})


# -- Amplitude ---------------------------------------------------------------------------------
class AmplitudeLogic:
    """``POST /2/httpapi``: api_key, events (≤ 2,000, < 1 MB), ids ≥ 5 chars, insert_id dedupe."""

    def __init__(self, api_key: str, throttle_first: int = 0) -> None:
        self.api_key = api_key
        self.events: dict[str, dict[str, Any]] = {}
        self.request_sizes: list[int] = []
        self.throttle_first = throttle_first

    def __call__(self, request: Request) -> Reply:
        if request.path != "/2/httpapi" or request.method != "POST":
            return _json(404, {"code": 404, "error": "not found"})
        if len(request.body) >= 1_000_000:
            return _json(413, {"code": 413, "error": "Payload too large"})
        body = json.loads(request.body)
        if body.get("api_key") != self.api_key:
            return _json(
                400, {"code": 400, "error": "Invalid API key: " + str(body.get("api_key"))}
            )
        events = body.get("events")
        if not events:
            return _json(
                400,
                {"code": 400, "error": "Request missing required field", "missing_field": "events"},
            )
        if len(events) > 2000:
            return _json(413, {"code": 413, "error": "Payload too large"})
        if self.throttle_first > 0:
            self.throttle_first -= 1
            return _json(
                429,
                {"code": 429, "error": "Too many requests for some devices and users"},
                {"Retry-After": "1"},
            )
        min_len = (body.get("options") or {}).get("min_id_length") or 5
        invalid: dict[str, list[int]] = {}
        missing: dict[str, list[int]] = {}
        for index, event in enumerate(events):
            if not event.get("event_type"):
                missing.setdefault("event_type", []).append(index)
            ident = event.get("user_id") or event.get("device_id")
            if not ident:
                missing.setdefault("device_id", []).append(index)
            elif len(str(ident)) < min_len:
                invalid.setdefault("device_id", []).append(index)
            if "time" in event and not isinstance(event["time"], int):
                invalid.setdefault("time", []).append(index)
        if invalid or missing:
            return _json(
                400,
                {
                    "code": 400,
                    "error": "Request has invalid events",
                    "events_with_invalid_fields": invalid,
                    "events_with_missing_fields": missing,
                },
            )
        for event in events:
            self.events.setdefault(event.get("insert_id") or str(len(self.events)), event)
        self.request_sizes.append(len(events))
        return _json(
            200,
            {
                "code": 200,
                "events_ingested": len(events),
                "payload_size_bytes": len(request.body),
                "server_upload_time": int(time.time() * 1000),
            },
        )
