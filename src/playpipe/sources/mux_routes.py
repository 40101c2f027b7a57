"""The collector side of the Mux beacon format: routes and framing.

``mux-embed`` posts its batches as ``text/plain`` JSON to the root of its beacon domain:
with ``beaconCollectionDomain: "collector.example.com"`` it posts to
``https://collector.example.com/`` (``http://`` only for ``localhost[:port]``). A path may
follow the host (``collector.example.com/v1/mux?key=…``), hence the two routes. A batch is
cut into one raw record per event, keyed by the event's view (``xid``), so one view's events
stay in order on one partition, where the mapper keeps the view's merged state.
"""

from __future__ import annotations

from typing import Any

import msgspec

from playpipe.collector.routes import Frame, RequestFacts, SourceRoute, decode_body, view_key

FORMAT = "mux"

_encoder = msgspec.json.Encoder()


class _Envelope(msgspec.Struct):
    events: list[Any]
    metadata: Any = None


def frame_batch(body: bytes, facts: RequestFacts) -> list[Frame]:
    """One record ``{"metadata", "events": [event]}`` per event of the batch."""
    if not body.strip():
        return []
    batch = decode_body(body, _Envelope, "not a Mux beacon batch ({metadata, events})")
    frames = []
    for event in batch.events:
        view = event.get("xid") if isinstance(event, dict) else None
        value = _encoder.encode({"metadata": batch.metadata, "events": [event]})
        frames.append(Frame(view_key(view), value))
    return frames


def _route(path: str) -> SourceRoute:
    return SourceRoute(
        path=path,
        format=FORMAT,
        methods=("POST",),
        content_types=("text/plain", "application/json", ""),
        frame=frame_batch,
        ok_status=200,
        summary="Mux beacon batches from mux-embed (beaconCollectionDomain pointed here)",
    )


ROUTES = [_route("/"), _route("/v1/mux")]
