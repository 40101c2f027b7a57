"""HTTP routes of other wire formats: what each accepts, and how a body becomes raw records.

A source format (``playpipe.sources.<name>``) declares its routes in a module-level
``ROUTES`` list of :class:`SourceRoute`. The collector answers them with the cheap checks
only (method, content type, size, CORS, property key, rate limit), cuts the body into raw
records with the route's ``frame`` function, and produces each record to the raw topic with
the ``playpipe.format`` header and the request facts the mapping needs (see
:func:`raw_headers`). Mapping to dictionary events happens in the standardizer through the
sources registry, so a new mapping can be replayed over old raw data.

``frame`` must be cheap and never raise anything but :class:`FrameError`: it splits, it does
not validate. A record that turns out malformed is rejected alone by the standardizer, on
the invalid topic with its reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import msgspec

from playpipe.log import get_logger

log = get_logger("collector")
T = TypeVar("T")

ROUTE_MODULES: tuple[str, ...] = (
    "playpipe.sources.cmcd_routes",
    "playpipe.sources.mux_routes",
    "playpipe.sources.snowplow_routes",
    "playpipe.sources.epas_routes",
)
"""Modules whose ``ROUTES`` the collector serves, besides the native ``POST /v1/events``."""

HEADER_PREFIX = "playpipe.http."
"""Raw-record header prefix of a forwarded request header: ``playpipe.http.cmcd-request``."""


class FrameError(Exception):
    """The body as a whole cannot be cut into records: answered with ``status``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Frame:
    """One raw record cut from a body: its Kafka key (the view, when cheap to find) and bytes."""

    key: bytes | None
    value: bytes


@dataclass(frozen=True)
class RequestFacts:
    """What a ``frame`` function may look at besides the body."""

    method: str
    path: str
    query: str
    content_type: str
    headers: Mapping[str, str]


FrameFn = Callable[[bytes, RequestFacts], list[Frame]]


def whole_body(body: bytes, facts: RequestFacts) -> list[Frame]:
    """The default framing: the body is one record, without a key."""
    return [Frame(None, body)] if body else []


def decode_body(body: bytes, kind: type[T], what: str) -> T:
    """``body`` as JSON of ``kind``; otherwise ``FrameError("<what>: <why>")``."""
    try:
        return msgspec.json.decode(body, type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
        raise FrameError(f"{what}: {exc}") from None


def view_key(view: object) -> bytes | None:
    """The Kafka key of a record of view ``view``: its first 128 bytes; None without a view."""
    return view.encode("utf-8", "replace")[:128] if isinstance(view, str) and view else None


@dataclass(frozen=True)
class SourceRoute:
    """One HTTP path of a wire format and what the collector accepts there."""

    path: str
    """Exact request path, e.g. ``/v1/cmcd``."""
    format: str
    """Name of the source format in the registry; written as the ``playpipe.format`` header."""
    methods: tuple[str, ...] = ("POST",)
    """Methods answered (``OPTIONS`` preflights are always answered)."""
    content_types: tuple[str, ...] = ("application/json",)
    """Accepted media types, lower case without parameters; ``""`` accepts a missing one."""
    frame: FrameFn = whole_body
    """Cuts a body into raw records (``GET`` requests get the query string as the body)."""
    forward_headers: tuple[str, ...] = ()
    """Request headers copied onto each record (lower case; a trailing ``*`` is a prefix)."""
    ok_status: int = 204
    """Status of an accepted request."""
    ok_body: bytes = b""
    ok_content_type: str = "text/plain"
    allow_empty: bool = False
    """Accept a request with no record (answered ``ok_status``); otherwise 400."""
    summary: str = ""
    """One line for the 404 help and the docs."""
    extra_cors_headers: tuple[str, ...] = field(default=())
    """Request headers a browser may send cross-origin beyond the collector's defaults."""

    def forwards(self, name: str) -> bool:
        for pattern in self.forward_headers:
            if (pattern.endswith("*") and name.startswith(pattern[:-1])) or name == pattern:
                return True
        return False


def load_routes(modules: tuple[str, ...] = ROUTE_MODULES) -> dict[str, SourceRoute]:
    """Every declared route by path; a module that cannot be imported is logged and skipped."""
    routes: dict[str, SourceRoute] = {}
    for name in modules:
        try:
            declared: list[SourceRoute] = importlib.import_module(name).ROUTES
        except (ImportError, AttributeError):
            log.error("collector.routes_unavailable", module=name, exc=True)
            continue
        for route in declared:
            if route.path in routes or route.path == "/v1/events":
                raise ValueError(f"two routes for {route.path} (in {name})")
            routes[route.path] = route
    return routes


_json = msgspec.json.Encoder()


def raw_headers(
    route: SourceRoute,
    facts: RequestFacts,
    *,
    received_at: int,
    client_ip: str,
    property_key: str | None,
    context: Mapping[str, object],
) -> list[tuple[str, bytes]]:
    """The headers of every raw record of one request.

    ``playpipe.format``, ``playpipe.received_at`` (ms), ``playpipe.client_ip`` (truncated as
    configured), ``playpipe.method``, ``playpipe.path``, ``playpipe.query`` (without ``key``),
    ``playpipe.content_type``, ``playpipe.user_agent``, ``playpipe.property`` when a key was
    given, ``playpipe.context`` (JSON: the collector's device, geo and network enrichment)
    and ``playpipe.http.<name>`` for each forwarded request header.
    """
    headers = [
        ("playpipe.format", route.format.encode()),
        ("playpipe.received_at", str(received_at).encode()),
        ("playpipe.client_ip", client_ip.encode()),
        ("playpipe.method", facts.method.encode()),
        ("playpipe.path", facts.path.encode("utf-8", "replace")),
        ("playpipe.content_type", facts.content_type.encode("latin-1", "replace")),
    ]
    if facts.query:
        headers.append(("playpipe.query", facts.query.encode("latin-1", "replace")))
    agent = facts.headers.get("user-agent")
    if agent:
        headers.append(("playpipe.user_agent", agent.encode("latin-1", "replace")))
    if property_key:
        headers.append(("playpipe.property", property_key.encode()))
    if context:
        headers.append(("playpipe.context", _json.encode(context)))
    for name, value in facts.headers.items():
        if route.forwards(name):
            headers.append((HEADER_PREFIX + name, value.encode("latin-1", "replace")))
    return headers
