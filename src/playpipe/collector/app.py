"""The collector's ASGI application: ``POST /v1/events`` and the operational endpoints.

Status codes (the body is always JSON with a message that names the problem):

=====  ==========================================================================
202    accepted: ``{"accepted": n, "rejected": [{"index", "field", "reason"}]}``
400    the body cannot be read (not JSON/NDJSON, bad gzip, empty)
403    unknown property key, or an Origin that is not allowed
404    no such path; 405 wrong method
413    body or decompressed body over ``max_body_bytes``, or more than ``max_events``
415    content type other than JSON, NDJSON or text/plain
429    rate limit of the property key or client address (``Retry-After``)
503    Kafka is away and the spool is full (``Retry-After``)
=====  ==========================================================================

Every rejected event and every rejected body (up to ``invalid_body_cap_bytes``) is produced
to the invalid topic with its reason in headers, so nothing is silently dropped.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qs

from playpipe.collector import metrics
from playpipe.collector.enrich import BatchContext, Enricher
from playpipe.collector.http import (
    Cors,
    Receive,
    Scope,
    Send,
    TooLarge,
    gunzip,
    headers_of,
    parse_query,
    read_body,
    respond,
    respond_raw,
)
from playpipe.collector.ingest import BodyError, Parsed, parse_body
from playpipe.collector.ratelimit import TokenBuckets
from playpipe.collector.routes import (
    FrameError,
    RequestFacts,
    SourceRoute,
    load_routes,
    raw_headers,
)
from playpipe.collector.settings import CollectorSettings
from playpipe.collector.sink import OutRecord
from playpipe.collector.spool import SpoolFullError
from playpipe.collector.stamp import stamp_events
from playpipe.dictionary import Event, encode_event, encode_events
from playpipe.log import get_logger

log = get_logger("collector")

ACCEPTED_TYPES = (
    "application/json",
    "application/x-ndjson",
    "application/ndjson",
    "text/plain",
    "",
)
RETRY_AFTER_FULL_S = 30
# The raw topic's format header: dictionary JSON here; other sources name their wire format.
NATIVE_FORMAT = [("playpipe.format", b"native")]


class Sink(Protocol):
    """Where accepted events go: Kafka, or the spool (see ``playpipe.collector.sink``)."""

    kafka_ok: bool

    @property
    def spool_full(self) -> bool: ...

    async def deliver(self, records: Sequence[OutRecord]) -> str: ...

    def start(self) -> None: ...

    async def close(self, drain_s: float = 10.0) -> None: ...


@dataclass(frozen=True)
class Topics:
    raw: str
    invalid: str


class Rejection(Exception):
    """A whole request is refused."""

    def __init__(
        self,
        status: int,
        message: str,
        reason: str,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason
        self.headers = headers or []


@dataclass
class Request:
    """What the handler knows about one POST once its headers are read."""

    received_at: int
    headers: dict[str, str]
    origin: str | None
    property_key: str | None
    sent_at: int | None
    ctx: BatchContext


class CollectorApp:
    """The ASGI app. ``sink_factory`` is called at start-up, inside the worker's event loop."""

    def __init__(
        self,
        settings: CollectorSettings,
        topics: Topics,
        sink_factory: Callable[[], Sink],
        enricher: Enricher,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.topics = topics
        self.sink_factory = sink_factory
        self.sink: Sink | None = None
        self.enricher = enricher
        self.clock = clock
        self.cors = Cors(settings.cors_origins)
        self.keys = frozenset(settings.property_keys)
        self.key_limits = TokenBuckets(settings.per_key_limit)
        self.ip_limits = TokenBuckets(settings.per_ip_limit)
        self.routes: dict[str, SourceRoute] = load_routes()

    # -- ASGI -----------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.error("collector.start_failed", exc=True)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        self.sink = self.sink_factory()
        self.sink.start()

    async def shutdown(self) -> None:
        if self.sink is not None:
            await self.sink.close()
            self.sink = None
        self.enricher.close()

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        try:
            if path == "/v1/events":
                if method == "POST":
                    await self.post_events(scope, receive, send)
                elif method == "OPTIONS":
                    origin = headers_of(scope).get("origin")
                    status = 204 if self.cors.allowed(origin) else 403
                    await respond_raw(
                        send, status, b"", "text/plain", self.cors.preflight_headers(origin)
                    )
                else:
                    await respond(
                        send,
                        405,
                        {"error": f"{method} is not allowed on {path}; use POST"},
                        [(b"allow", b"POST, OPTIONS")],
                    )
            elif path in self.routes:
                await self.source_request(self.routes[path], scope, receive, send)
            elif path == "/healthz" and method == "GET":
                await respond(send, 200, {"status": "ok"})
            elif path == "/readyz" and method == "GET":
                await self.readyz(send)
            elif path == "/metrics" and method == "GET":
                payload, content_type = metrics.render()
                await respond_raw(send, 200, payload, content_type)
            else:
                await respond(
                    send,
                    404,
                    {"error": f"no such endpoint: {method} {path}; beacons go to POST /v1/events"},
                )
        except Exception:  # a bug, never the input's fault: keep the worker alive and say so
            metrics.errors.labels(metrics.COMPONENT, "handler").inc()
            log.error("collector.handler_failed", exc=True, path=path)
            await respond(send, 500, {"error": "internal error; the collector logged it"})

    async def readyz(self, send: Send) -> None:
        sink = self.sink
        ready = sink is not None and (sink.kafka_ok or not sink.spool_full)
        body = {
            "ready": ready,
            "kafka": "ok" if sink is not None and sink.kafka_ok else "unavailable",
            "spool_full": bool(sink and sink.spool_full),
        }
        await respond(send, 200 if ready else 503, body)

    # -- POST /v1/events --------------------------------------------------------------------
    async def post_events(self, scope: Scope, receive: Receive, send: Send) -> None:
        received_at = int(self.clock() * 1000)
        headers = headers_of(scope)
        origin = headers.get("origin")
        cors = self.cors.headers(origin)
        query = parse_query(scope.get("query_string", b""))
        peer = (scope.get("client") or ("", 0))[0]
        ctx = self.enricher.context(peer, headers.get("x-forwarded-for"), headers.get("user-agent"))
        request = Request(
            received_at,
            headers,
            origin,
            _first(query, "key") or headers.get("x-playpipe-key"),
            _int_or_none(_first(query, "sent_at") or headers.get("x-playpipe-sent-at")),
            ctx,
        )
        body = b""
        try:
            self._admit(request)
            body = await self._read(request, receive)
            parsed = self._parse(body)
        except Rejection as rejection:
            metrics.rejected_requests.labels(str(rejection.status)).inc()
            await self._keep_body(request, body, rejection)
            await respond(
                send, rejection.status, {"error": rejection.message}, cors + rejection.headers
            )
            return
        await self._accept(request, parsed, send, cors)

    def _admit(self, request: Request) -> None:
        if not self.cors.allowed(request.origin):
            raise Rejection(
                403,
                f"origin {request.origin} is not allowed to send beacons (collector.cors_origins)",
                "origin",
            )
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in ACCEPTED_TYPES:
            raise Rejection(
                415,
                f"unsupported content type {content_type!r}: send application/json, "
                "application/x-ndjson or text/plain",
                "content_type",
            )
        key = request.property_key
        if not self.settings.open and key is not None and key not in self.keys:
            raise Rejection(403, f"unknown property key {key!r}", "unknown_key")
        self._limit_rate(key, request.ctx.ip)

    def _limit_rate(self, key: str | None, ip: str) -> None:
        """Take one request from the property key's and the client address's buckets."""
        now = self.clock()
        for buckets, who in ((self.key_limits, key or ""), (self.ip_limits, ip)):
            wait = buckets.take(who, now)
            if wait > 0:
                retry = str(max(1, int(wait + 0.999))).encode()
                raise Rejection(
                    429,
                    "rate limit exceeded; retry after the given seconds",
                    "rate_limit",
                    [(b"retry-after", retry)],
                )

    async def _read(self, request: Request, receive: Receive) -> bytes:
        limit, cap = self.settings.max_body_bytes, self.settings.invalid_body_cap_bytes
        declared = _int_or_none(request.headers.get("content-length"))
        if declared is not None and declared > limit:
            raise Rejection(
                413, f"body of {declared} bytes is over the limit of {limit} bytes", "too_large"
            )
        try:
            body = await read_body(receive, limit, cap)
        except TooLarge:
            raise Rejection(413, f"body is over the limit of {limit} bytes", "too_large") from None
        encoding = request.headers.get("content-encoding", "").strip().lower()
        if encoding in ("", "identity"):
            return body
        if encoding != "gzip":
            raise Rejection(
                415,
                f"unsupported content encoding {encoding!r}: use gzip or none",
                "content_encoding",
            )
        try:
            return gunzip(body, limit, cap)
        except TooLarge:
            raise Rejection(
                413, f"decompressed body is over the limit of {limit} bytes", "too_large"
            ) from None
        except zlib.error as exc:
            raise Rejection(400, f"body is not valid gzip: {exc}", "bad_gzip") from None

    def _parse(self, body: bytes) -> Parsed:
        try:
            return parse_body(body, self.settings.max_events)
        except BodyError as exc:
            raise Rejection(
                exc.status, exc.message, "too_many" if exc.status == 413 else "malformed"
            ) from None

    async def _accept(
        self, request: Request, parsed: Parsed, send: Send, cors: list[tuple[bytes, bytes]]
    ) -> None:
        metrics.received_events.inc(len(parsed.events) + len(parsed.rejected))
        events = parsed.events
        rejected = [(r.index, r.field, r.reason, r.raw, r.view_id) for r in parsed.rejected]
        if not self.settings.open:
            events, rejected = self._check_properties(request, parsed, rejected)
            if not events and rejected and all(r[1] == "$.property" for r in rejected):
                metrics.rejected_requests.labels("403").inc()
                await self._deliver_quietly(self._invalid_records(request, rejected))
                await respond(
                    send,
                    403,
                    {"error": "no property key given, or unknown: add ?key=<property key>"},
                    cors,
                )
                return
        stamp_events(
            events,
            request.ctx,
            request.received_at,
            request.sent_at,
            self.settings.enrich.max_skew_ms,
            self.settings.enrich.skew_tolerance_ms,
            request.property_key,
        )
        raw = self.topics.raw
        records = [
            OutRecord(raw, view.encode(), encode_events(group), NATIVE_FORMAT)
            for view, group in _by_view(events).items()
        ]
        records += self._invalid_records(request, rejected)
        try:
            assert self.sink is not None, "the collector has not started"
            await self.sink.deliver(records)
        except (SpoolFullError, OSError) as exc:
            if isinstance(exc, OSError):
                log.error("spool.write_failed", exc=True)
            metrics.rejected_requests.labels("503").inc()
            retry = [(b"retry-after", str(RETRY_AFTER_FULL_S).encode())]
            await respond(
                send,
                503,
                {"error": "Kafka is unavailable and the local spool is full; retry later"},
                cors + retry,
            )
            return
        metrics.accepted_events.inc(len(events))
        for item in rejected:
            metrics.rejected_events.labels(_reason_label(item[1])).inc()
        body = {
            "accepted": len(events),
            "rejected": [{"index": i, "field": f, "reason": r} for i, f, r, _, _ in rejected],
        }
        await respond(send, 202, body, cors)

    def _check_properties(
        self,
        request: Request,
        parsed: Parsed,
        rejected: list[tuple[int, str, str, bytes, str | None]],
    ) -> tuple[list, list]:  # type: ignore[type-arg]
        kept = []
        index_of = _valid_indexes(parsed)
        for position, event in enumerate(parsed.events):
            key = event.property or request.property_key
            if key is None or key not in self.keys:
                reason = (
                    "unknown property key"
                    if key
                    else "no property key: add ?key= or the event's property"
                )
                rejected.append(
                    (index_of[position], "$.property", reason, encode_event(event), event.view_id)
                )
            else:
                kept.append(event)
        rejected.sort(key=lambda r: r[0])
        return kept, rejected

    def _invalid_records(
        self, request: Request, rejected: list[tuple[int, str, str, bytes, str | None]]
    ) -> list[OutRecord]:
        return [
            OutRecord(
                self.topics.invalid,
                view.encode() if view else None,
                raw,
                _invalid_headers(request, reason, field, 202, index),
            )
            for index, field, reason, raw, view in rejected
        ]

    async def _keep_body(self, request: Request, body: bytes, rejection: Rejection) -> None:
        cap = self.settings.invalid_body_cap_bytes
        headers = _invalid_headers(request, rejection.message, "$", rejection.status, None)
        if len(body) > cap:
            headers.append(("playpipe.truncated", str(len(body)).encode()))
        await self._deliver_quietly([OutRecord(self.topics.invalid, None, body[:cap], headers)])

    async def _deliver_quietly(self, records: list[OutRecord]) -> None:
        if self.sink is None or not records:
            return
        try:
            await self.sink.deliver(records)
        except (SpoolFullError, OSError):
            metrics.discarded_events.inc(len(records))
            log.warning("invalid.discarded", records=len(records), why="kafka away and spool full")

    # -- other wire formats (playpipe.collector.routes) ----------------------------------------
    async def source_request(
        self, route: SourceRoute, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """A request on a source format's route: cheap checks, then raw records to Kafka."""
        method = scope["method"]
        headers = headers_of(scope)
        origin = headers.get("origin")
        if method == "OPTIONS":
            status = 204 if self.cors.allowed(origin) else 403
            preflight = _route_preflight(self.cors.preflight_headers(origin), route)
            await respond_raw(send, status, b"", "text/plain", preflight)
            return
        cors = self.cors.headers(origin)
        if method not in route.methods:
            allow = ", ".join((*route.methods, "OPTIONS")).encode()
            message = f"{method} is not allowed on {route.path}; use {' or '.join(route.methods)}"
            await respond(send, 405, {"error": message}, [(b"allow", allow), *cors])
            return
        received_at = int(self.clock() * 1000)
        query_string = scope.get("query_string", b"").decode("latin-1")
        query = parse_qs(query_string)
        peer = (scope.get("client") or ("", 0))[0]
        ctx = self.enricher.context(peer, headers.get("x-forwarded-for"), headers.get("user-agent"))
        key = _first(query, "key") or headers.get("x-playpipe-key")
        request = Request(received_at, headers, origin, key, None, ctx)
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        facts = RequestFacts(method, route.path, _without_key(query_string), content_type, headers)
        body = b""
        try:
            self._admit_source(request, route, content_type)
            if method == "GET":
                body = query_string.encode("latin-1")
            else:
                body = await self._read(request, receive)
            frames = route.frame(body, facts)
            if not frames and not route.allow_empty:
                raise FrameError(f"empty body: {route.summary or route.format} expected")
            if len(frames) > self.settings.max_events:
                raise FrameError(
                    f"too many reports: {len(frames)} in one request, at most "
                    f"{self.settings.max_events}",
                    413,
                )
        except FrameError as exc:
            rejection = Rejection(exc.status, exc.message, "malformed")
            await self._refuse(send, request, body, rejection, cors)
            return
        except Rejection as rejection:
            await self._refuse(send, request, body, rejection, cors)
            return
        common = raw_headers(
            route,
            facts,
            received_at=received_at,
            client_ip=ctx.ip,
            property_key=key,
            context=_context_of(ctx),
        )
        raw = self.topics.raw
        records = [OutRecord(raw, f.key, f.value, common) for f in frames]
        metrics.received_events.inc(len(records))
        try:
            assert self.sink is not None, "the collector has not started"
            await self.sink.deliver(records)
        except (SpoolFullError, OSError) as exc:
            if isinstance(exc, OSError):
                log.error("spool.write_failed", exc=True)
            metrics.rejected_requests.labels("503").inc()
            retry = [(b"retry-after", str(RETRY_AFTER_FULL_S).encode())]
            message = "Kafka is unavailable and the local spool is full; retry later"
            await respond(send, 503, {"error": message}, cors + retry)
            return
        metrics.accepted_events.inc(len(records))
        await respond_raw(send, route.ok_status, route.ok_body, route.ok_content_type, cors)

    def _admit_source(self, request: Request, route: SourceRoute, content_type: str) -> None:
        if not self.cors.allowed(request.origin):
            raise Rejection(
                403,
                f"origin {request.origin} is not allowed to send beacons (collector.cors_origins)",
                "origin",
            )
        if content_type not in route.content_types:
            wanted = ", ".join(t for t in route.content_types if t) or "no content type"
            raise Rejection(
                415,
                f"unsupported content type {content_type!r} on {route.path}: send {wanted}",
                "content_type",
            )
        key = request.property_key
        if not self.settings.open and (key is None or key not in self.keys):
            message = (
                f"unknown property key {key!r}"
                if key
                else f"no property key: add ?key=<property key> to the {route.path} URL"
            )
            raise Rejection(403, message, "unknown_key")
        self._limit_rate(key, request.ctx.ip)

    async def _refuse(
        self,
        send: Send,
        request: Request,
        body: bytes,
        rejection: Rejection,
        cors: list[tuple[bytes, bytes]],
    ) -> None:
        metrics.rejected_requests.labels(str(rejection.status)).inc()
        await self._keep_body(request, body, rejection)
        await respond(
            send, rejection.status, {"error": rejection.message}, cors + rejection.headers
        )


def _by_view(events: list[Event]) -> dict[str, list[Event]]:
    """The events of each view, in the order received: one raw message per view and request."""
    if len(events) == 1 or all(e.view_id == events[0].view_id for e in events):
        return {events[0].view_id: events} if events else {}
    groups: dict[str, list[Event]] = {}
    for event in events:
        groups.setdefault(event.view_id, []).append(event)
    return groups


def _valid_indexes(parsed: Parsed) -> list[int]:
    """The body index of each valid event (the rejected ones leave gaps)."""
    bad = {r.index for r in parsed.rejected}
    total = len(parsed.events) + len(parsed.rejected)
    return [i for i in range(total) if i not in bad]


def _invalid_headers(
    request: Request, reason: str, field: str, status: int, index: int | None
) -> list[tuple[str, bytes]]:
    headers = [
        ("playpipe.reason", reason.encode()),
        ("playpipe.field", field.encode()),
        ("playpipe.status", str(status).encode()),
        ("playpipe.received_at", str(request.received_at).encode()),
        ("playpipe.client_ip", request.ctx.ip.encode()),
        ("playpipe.content_type", request.headers.get("content-type", "").encode("latin-1")),
    ]
    if request.property_key:
        headers.append(("playpipe.property", request.property_key.encode()))
    if index is not None:
        headers.append(("playpipe.index", str(index).encode()))
    return headers


def _reason_label(field: str) -> str:
    return "property" if field == "$.property" else "malformed" if field == "$" else "invalid_field"


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _int_or_none(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def _without_key(query: str) -> str:
    """The query string without the property key (it travels as its own header)."""
    parts = [p for p in query.split("&") if p and not p.startswith("key=")]
    return "&".join(parts)


def _context_of(ctx: BatchContext) -> dict[str, object]:
    """The collector's enrichment of a request, for the mapping of other wire formats."""
    out: dict[str, object] = {}
    if ctx.device_fields:
        out["device"] = ctx.device_fields
    if ctx.geo_fields:
        out["geo"] = ctx.geo_fields
    if ctx.network_fields:
        out["network"] = ctx.network_fields
    return out


def _route_preflight(
    headers: list[tuple[bytes, bytes]], route: SourceRoute
) -> list[tuple[bytes, bytes]]:
    """The collector's preflight headers with the route's methods and extra request headers."""
    methods = ", ".join((*route.methods, "OPTIONS")).encode()
    out = []
    for name, value in headers:
        if name == b"access-control-allow-methods":
            value = methods
        elif name == b"access-control-allow-headers" and route.extra_cors_headers:
            value = value + b", " + ", ".join(route.extra_cors_headers).encode()
        out.append((name, value))
    return out
