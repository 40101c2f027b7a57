"""The collector side of CMCD: the HTTP routes and how a body is cut into raw records.

``POST /v1/cmcd`` takes event-mode (and response-mode) reports: ``application/cmcd`` with
one report per line, as dash.js 5 and hls.js 1.7 send them, or JSON (one object, an array of
objects, or one object per line). Each report becomes one raw record keyed by its ``sid``,
so one session's reports stay in order on one partition.

``/v1/cmcd/request`` takes request-mode CMCD forwarded by a proxy or a CDN log shipper:
``GET`` (or ``POST`` without body) mirroring the media request, with the data in the
``CMCD=`` query argument or the four ``CMCD-*`` headers; or ``POST`` of text lines, each a
media request URL or query string carrying ``CMCD=``, or a bare CMCD string.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote

import msgspec

from playpipe.collector.routes import Frame, FrameError, RequestFacts, SourceRoute, decode_body

FORMAT = "cmcd"
EVENT_PATH = "/v1/cmcd"
REQUEST_PATH = "/v1/cmcd/request"
CMCD_HEADERS = ("cmcd-object", "cmcd-request", "cmcd-session", "cmcd-status")

_SID = re.compile(rb'(?:^|[,{\s])"?sid"?\s*[=:]\s*"((?:[^"\\]|\\.){1,64})"')


def _key(report: bytes) -> bytes | None:
    match = _SID.search(report)
    return match.group(1) if match else None


def _lines(body: bytes) -> list[bytes]:
    return [line.strip() for line in body.split(b"\n") if line.strip()]


def frame_events(body: bytes, facts: RequestFacts) -> list[Frame]:
    """One record per report: a line of ``application/cmcd``, or a JSON object."""
    start = body.lstrip()[:1]
    if start == b"[":
        items = decode_body(body, list[msgspec.Raw], "body is not a JSON array of CMCD reports")
        reports = [bytes(item) for item in items]
    else:
        reports = _lines(body)
    return [Frame(_key(report), report) for report in reports]


def frame_requests(body: bytes, facts: RequestFacts) -> list[Frame]:
    """Request mode: the mirrored request itself, or one forwarded request per line."""
    mirrored = facts.method == "GET" or not body.strip()
    if mirrored:
        query = body.decode("latin-1") if facts.method == "GET" else facts.query
        data = ",".join(
            [*parse_qs(query).get("CMCD", []), *(facts.headers.get(h, "") for h in CMCD_HEADERS)]
        ).strip(",")
        if not data:
            raise FrameError(
                "no CMCD data: send the media request's CMCD= query argument or CMCD-* headers"
            )
        return [Frame(_key(data.encode("utf-8", "replace")), body or query.encode("latin-1"))]
    return [Frame(_key(unquote(line.decode("latin-1")).encode()), line) for line in _lines(body)]


ROUTES = [
    SourceRoute(
        path=EVENT_PATH,
        format=FORMAT,
        methods=("POST",),
        content_types=(
            "application/cmcd",
            "text/plain",
            "application/json",
            "application/x-ndjson",
            "",
        ),
        frame=frame_events,
        summary="CMCD v2 event-mode reports, one per line (application/cmcd) or JSON",
    ),
    SourceRoute(
        path=REQUEST_PATH,
        format="cmcd_request",
        methods=("GET", "POST"),
        content_types=("application/cmcd", "text/plain", ""),
        frame=frame_requests,
        forward_headers=CMCD_HEADERS,
        extra_cors_headers=CMCD_HEADERS,
        summary="request-mode CMCD: CMCD= query argument, CMCD-* headers, or one URL per line",
    ),
]
