"""Recorded plays of real clients, sent through the real collector app and mapped.

``recorded/*.json`` hold what the real clients sent while headless Chromium played an 8 s HLS
ladder through hls.js (requests as received, with the browser's own media events): the
mux-embed, Snowplow media plugin and EPAS web SDK beacons. ``replay`` posts those requests
to the in-process collector and maps the raw records it produced with the source format,
the way the standardizer does.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from playpipe.collector.sink import OutRecord
from playpipe.dictionary import Event
from playpipe.sources import SourceFormat
from tests.unit.collector.harness import RAW, client, make_app

RECORDED = Path(__file__).parent / "recorded"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / name).read_text())
    return data


async def _send(requests: list[dict[str, Any]]) -> tuple[list[OutRecord], list[int]]:
    app, sink = make_app()
    statuses = []
    async with client(app) as http:
        for r in requests:
            url = r["path"] + (f"?{r['query']}" if r["query"] else "")
            headers = {**r["headers"], "origin": "http://page.example"}
            answer = await http.request(r["method"], url, content=r["body"], headers=headers)
            statuses.append(answer.status_code)
    return sink.on(RAW), statuses


def collect(requests: list[dict[str, Any]]) -> tuple[list[OutRecord], list[int]]:
    """The raw records the collector makes of ``requests``, and the status of each answer."""
    return asyncio.run(_send(requests))


def mapped(fmt: SourceFormat, records: list[OutRecord]) -> list[Event]:
    """Every event ``fmt`` maps the records to, in record order."""
    events: list[Event] = []
    for record in records:
        headers = {k: v for k, v in record.headers or ()}
        events += fmt.map(record.value, headers)
    return events


def kinds(events: list[Event]) -> list[str]:
    return [type(e).__name__.removesuffix("Event") for e in events]
