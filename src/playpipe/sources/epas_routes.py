"""The collector side of EPAS: the route the EPAS SDKs post to, and its framing.

The EPAS web SDK posts each event on its own to the event sink URL it was given
(``new PlayerAnalyticsConnector("https://collector.example.com/v1/epas")``), as
``application/json`` with the ``X-EPAS-Event`` and ``X-EPAS-Version`` headers (so a
cross-origin page sends a preflight, answered here). A body may also hold a JSON array of
events. Each event becomes one raw record keyed by its ``sessionId``.

The SDK's ``init`` waits for the answer and reads it as JSON: the route answers ``200 {}``
(the SDK keeps the ``sessionId`` it was given; give it one, as its README asks).
"""

from __future__ import annotations

import re

import msgspec

from playpipe.collector.routes import Frame, RequestFacts, SourceRoute, decode_body

FORMAT = "epas"
PATH = "/v1/epas"
EPAS_HEADERS = ("x-epas-event", "x-epas-version")

_SESSION = re.compile(rb'"sessionId"\s*:\s*"((?:[^"\\]|\\.){1,128})"')


def _key(event: bytes) -> bytes | None:
    match = _SESSION.search(event)
    return match.group(1) if match else None


def frame_events(body: bytes, facts: RequestFacts) -> list[Frame]:
    """One record per event: the body itself, or each item of a JSON array."""
    if body.lstrip()[:1] != b"[":
        return [Frame(_key(body), body)] if body.strip() else []
    items = decode_body(body, list[msgspec.Raw], "body is not a JSON array of EPAS events")
    return [Frame(_key(bytes(item)), bytes(item)) for item in items]


ROUTES = [
    SourceRoute(
        path=PATH,
        format=FORMAT,
        methods=("POST",),
        content_types=("application/json", "text/plain", ""),
        frame=frame_events,
        forward_headers=("x-epas-version",),
        extra_cors_headers=EPAS_HEADERS,
        ok_status=200,
        ok_body=b"{}",
        ok_content_type="application/json",
        summary="EPAS events from the Eyevinn player analytics SDKs",
    )
]
