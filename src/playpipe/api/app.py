"""The API's ASGI application (Starlette): JSON endpoints, live events, the dashboard.

=======================  =================================================================
``GET /v1/metrics``      window metrics as time series or totals, by and filtered by
                         dimensions
``GET /v1/views``        views that ended in a time range (filters, outcome, order, limit)
``GET /v1/views/{id}``   one view's record and timeline
``GET /v1/dimensions``   dimension names, windows and the stored dimension sets
``GET /v1/dimensions/…`` values seen of one dimension
``GET /v1/errors``       fatal error codes, most frequent first
``GET /v1/live``         server-sent events: each new or corrected window, each new view
``GET /healthz``         liveness and the store's ingest state
``GET /metrics``         Prometheus text
``GET /``                the dashboard
=======================  =================================================================

Answers are JSON. 400 names the bad parameter and its allowed values; 401 means a bearer
token is needed (always on a non-loopback address); 403 a token that may read only some
properties asked for data that cannot be limited to them; 404 no such view.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import msgspec
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from playpipe import telemetry
from playpipe.api import metrics as api_metrics
from playpipe.api import queries
from playpipe.api.auth import Access, Tokens
from playpipe.api.catalog import METRICS
from playpipe.api.ingest import StoreIngest
from playpipe.api.live import Broadcaster, format_event, matches
from playpipe.api.params import (
    BadParameter,
    check_known,
    parse_choice,
    parse_filter,
    parse_int,
    parse_list,
    parse_time,
)
from playpipe.api.store import MetricsStore
from playpipe.config import Config
from playpipe.dashboard import static_dir

__all__ = ["OUTCOMES", "ApiContext", "create_app"]

OUTCOMES = (
    "start_failure",
    "playback_failure",
    "business_failure",
    "exit_before_start",
    "ended",
    "abandoned",
    "no_attempt",
)
HOUR_MS = 3_600_000


class Unauthorized(Exception):
    """No valid bearer token."""


class NotFound(Exception):
    """No such view (or not one this token may read)."""


def _now_ms() -> int:
    return int(time.time() * 1000)


class ApiContext:
    """What every handler needs: the store, the tokens, the live broadcaster, the clock."""

    def __init__(
        self, config: Config, store: MetricsStore, now_ms: Callable[[], int] = _now_ms
    ) -> None:
        self.config = config
        self.store = store
        self.now_ms = now_ms
        self.tokens = Tokens(config.api.tokens, config.api.auth_required)
        self.broadcaster = Broadcaster()
        self.ingest: StoreIngest | None = None

    def authorize(self, request: Request) -> Access:
        access = self.tokens.check(request.headers.get("authorization"))
        if access is None:
            raise Unauthorized
        return access

    def windows(self) -> list[str]:
        return queries.known_windows(self.store, self.config.streams.windows)

    def default_window(self) -> str:
        configured = self.config.streams.windows
        known = self.windows()
        return configured[0] if configured else known[0] if known else "10s"

    def time_range(self, query: dict[str, str], default_span_ms: int) -> tuple[int, int]:
        now = self.now_ms()
        end = parse_time(query.get("to"), "to", now, now)
        start = parse_time(query.get("from"), "from", now, end - default_span_ms)
        if start >= end:
            raise BadParameter("from", "`from` must be earlier than `to`.")
        return start, end

    # -- endpoints (run in a worker thread) ---------------------------------------------
    def get_metrics(self, query: dict[str, str], access: Access) -> dict[str, Any]:
        check_known(query, ("name", "window", "from", "to", "by", "filter", "shape", "limit"))
        dims = self.store.dimension_names
        names = parse_list(query.get("name"), "name", METRICS) or list(METRICS)
        q = queries.MetricsQuery(
            names=names,
            window=parse_choice(query.get("window"), "window", self.windows(), "")
            or self.default_window(),
            start_ms=0,
            end_ms=0,
            by=parse_list(query.get("by"), "by", dims),
            filters=parse_filter(query.get("filter"), dims),
            shape="total"
            if parse_choice(query.get("shape"), "shape", ("series", "total"), "series") == "total"
            else "series",
            limit=parse_int(query.get("limit"), "limit", 1, 500, 50),
        )
        q.start_ms, q.end_ms = self.time_range(query, HOUR_MS)
        return queries.metrics(self.store, q, access)

    def get_views(self, query: dict[str, str], access: Access) -> dict[str, Any]:
        check_known(query, ("from", "to", "filter", "outcome", "order", "limit"))
        orders = [*queries.VIEW_ORDER, *(f"-{o}" for o in queries.VIEW_ORDER)]
        q = queries.ViewsQuery(
            start_ms=0,
            end_ms=0,
            filters=parse_filter(query.get("filter"), self.store.dimension_names),
            outcomes=parse_list(query.get("outcome"), "outcome", OUTCOMES),
            order=parse_choice(query.get("order"), "order", orders, "-end_ms"),
            limit=parse_int(query.get("limit"), "limit", 1, 1000, 50),
        )
        q.start_ms, q.end_ms = self.time_range(query, 24 * HOUR_MS)
        return queries.list_views(self.store, q, access)

    def get_view(self, view_id: str, query: dict[str, str], access: Access) -> dict[str, Any]:
        check_known(query, ())
        found = queries.get_view(self.store, view_id, access)
        if found is None:
            raise NotFound(f"No view {view_id!r} in the store.")
        return found

    def get_dimension(self, name: str, query: dict[str, str], access: Access) -> dict[str, Any]:
        check_known(query, ("from", "to", "limit"))
        parse_choice(name, "name", self.store.dimension_names, "")
        start, end = self.time_range(query, 24 * HOUR_MS)
        limit = parse_int(query.get("limit"), "limit", 1, 1000, 100)
        return queries.dimension_values(self.store, name, start, end, limit, access)

    def list_dimensions(self, query: dict[str, str], access: Access) -> dict[str, Any]:
        check_known(query, ())
        with_property = access.restricted
        sets = {
            window: [
                [n for n in s.split(",") if n]
                for s in sorted(names)
                if not with_property or "property" in s.split(",")
            ]
            for window, names in sorted(self.store.dim_sets.items())
        }
        return {
            "dimensions": sorted(self.store.dimension_names),
            "windows": self.windows(),
            "default_window": self.default_window(),
            "dimension_sets": sets,
        }

    def get_errors(self, query: dict[str, str], access: Access) -> dict[str, Any]:
        check_known(query, ("from", "to", "filter", "limit"))
        filters = parse_filter(query.get("filter"), self.store.dimension_names)
        start, end = self.time_range(query, HOUR_MS)
        limit = parse_int(query.get("limit"), "limit", 1, 100, 10)
        return queries.top_errors(self.store, start, end, filters, limit, access)

    def health(self) -> tuple[int, dict[str, Any]]:
        ingest = self.ingest
        state = "off" if ingest is None else "running" if ingest.running else "stopped"
        body: dict[str, Any] = {
            "status": "ok" if state != "stopped" else "ingest stopped",
            "ingest": state,
            "records": ingest.records if ingest else 0,
            "last_write_ms": ingest.last_write_ms if ingest else None,
            "live_streams": self.broadcaster.count,
        }
        return (200 if state != "stopped" else 503), body


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        msgspec.json.encode(body),
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def _error(exc: Exception) -> Response:
    if isinstance(exc, BadParameter):
        return _json(400, exc.body())
    if isinstance(exc, Unauthorized):
        return _json(
            401,
            {"error": "unauthorized", "message": "Send `Authorization: Bearer <token>`."},
            {"WWW-Authenticate": 'Bearer realm="playpipe"'},
        )
    if isinstance(exc, queries.Forbidden):
        return _json(403, {"error": "forbidden", "message": str(exc)})
    if isinstance(exc, NotFound):
        return _json(404, {"error": "not_found", "message": str(exc)})
    raise exc


def _endpoint(
    ctx: ApiContext, name: str, work: Callable[[Request, Access], dict[str, Any]]
) -> Callable[[Request], Any]:
    async def handler(request: Request) -> Response:
        try:
            access = ctx.authorize(request)
            response = _json(200, await run_in_threadpool(work, request, access))
        except (BadParameter, Unauthorized, queries.Forbidden, NotFound) as exc:
            response = _error(exc)
        api_metrics.requests.labels(name, str(response.status_code)).inc()
        return response

    return handler


def _query(request: Request) -> dict[str, str]:
    return dict(request.query_params)


async def _live(ctx: ApiContext, request: Request) -> Response:
    try:
        access = ctx.authorize(request)
        query = _query(request)
        check_known(query, ("window", "filter"))
        window = parse_choice(query.get("window"), "window", ctx.windows(), "")
        filters = parse_filter(query.get("filter"), ctx.store.dimension_names)
    except (BadParameter, Unauthorized) as exc:
        return _error(exc)
    sub = ctx.broadcaster.subscribe()
    keepalive = ctx.config.api.live_keepalive_s

    async def stream() -> AsyncIterator[bytes]:
        api_metrics.live_streams.inc()
        try:
            yield b"retry: 3000\n: connected\n\n"
            while not ctx.broadcaster.closed:
                try:
                    item = await asyncio.wait_for(sub.queue.get(), keepalive)
                except TimeoutError:
                    yield b": keepalive\n\n"
                    continue
                if item is None:
                    break
                if sub.lagged:
                    sub.lagged = False
                    yield format_event("lagged", {"message": "refetch: events were dropped"})
                kind, payload = item
                dims = payload.get("dimensions", {})
                if kind == "window" and window and payload["window"] != window:
                    continue
                if matches(dims, filters, access):
                    yield format_event(kind, payload)
        finally:
            ctx.broadcaster.unsubscribe(sub)
            api_metrics.live_streams.dec()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


class _SecurityHeaders:
    """Headers every answer carries; the dashboard loads nothing from elsewhere."""

    HEADERS: ClassVar[list[tuple[bytes, bytes]]] = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (
            b"content-security-policy",
            b"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            b"frame-ancestors 'none'",
        ),
    ]

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.HEADERS]
            await send(message)

        await self.app(scope, receive, wrapped)


def create_app(
    config: Config,
    store: MetricsStore | None = None,
    *,
    run_ingest: bool = True,
    now_ms: Callable[[], int] = _now_ms,
) -> Starlette:
    """The API app over ``store`` (default: the file in ``api.data_dir``).

    With ``run_ingest`` the app's lifespan runs the Kafka consumer that fills the store.
    Raises ``ConfigError`` when a token is required (non-loopback ``api.host``) and none is
    configured.
    """
    owned = store is None
    ctx = ApiContext(config, store or MetricsStore.in_dir(config.api.data_dir), now_ms)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if run_ingest:
            ctx.ingest = StoreIngest(config, ctx.store, on_write=ctx.broadcaster.publish)
            ctx.ingest.start()
        try:
            yield
        finally:
            ctx.broadcaster.close()
            if ctx.ingest is not None:
                await run_in_threadpool(ctx.ingest.stop)
            if owned:
                ctx.store.close()

    async def healthz(request: Request) -> Response:
        status, body = ctx.health()
        return _json(status, body)

    async def prometheus(request: Request) -> Response:
        body, content_type = telemetry.render()
        return Response(body, media_type=content_type)

    async def live(request: Request) -> Response:
        return await _live(ctx, request)

    routes = [
        Route("/healthz", healthz),
        Route("/metrics", prometheus),
        Route(
            "/v1/metrics",
            _endpoint(ctx, "metrics", lambda r, a: ctx.get_metrics(_query(r), a)),
        ),
        Route("/v1/views", _endpoint(ctx, "views", lambda r, a: ctx.get_views(_query(r), a))),
        Route(
            "/v1/views/{view_id}",
            _endpoint(
                ctx, "view", lambda r, a: ctx.get_view(r.path_params["view_id"], _query(r), a)
            ),
        ),
        Route(
            "/v1/dimensions",
            _endpoint(ctx, "dimensions", lambda r, a: ctx.list_dimensions(_query(r), a)),
        ),
        Route(
            "/v1/dimensions/{name}",
            _endpoint(
                ctx,
                "dimensions",
                lambda r, a: ctx.get_dimension(r.path_params["name"], _query(r), a),
            ),
        ),
        Route("/v1/errors", _endpoint(ctx, "errors", lambda r, a: ctx.get_errors(_query(r), a))),
        Route("/v1/live", live),
        Mount("/", StaticFiles(directory=static_dir(), html=True)),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.ctx = ctx
    app.add_middleware(_SecurityHeaders)
    return app
