"""Scripted views and a driver for the aggregation tests (explicit event times only)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from playpipe.dictionary import (
    EVENT_CLASSES,
    ContentNode,
    CustomNode,
    DeviceNode,
    ErrorNode,
    Event,
    FluxdataNode,
    GeoNode,
    NetworkNode,
)
from playpipe.streams.aggregation import Aggregation
from playpipe.streams.aggsettings import AggregationSettings
from playpipe.streams.records import ViewRecord, WindowResult

CLASSES = {str(cls.__struct_config__.tag): cls for cls in EVENT_CLASSES}
FAR = 10**9
"""A watermark beyond every test's events: closes every view and window."""


class View:
    """Builds the events of one view with increasing ``seq``."""

    def __init__(
        self,
        view_id: str = "v1",
        *,
        cdn: str | None = "akamai",
        country: str | None = "FR",
        device: str | None = "desktop",
        custom: CustomNode | None = None,
    ) -> None:
        self.view_id = view_id
        self.seq = 0
        self.nodes: dict[str, Any] = {
            "network": NetworkNode(cdn=cdn, asn=3215, isp="Orange"),
            "geo": GeoNode(country=country, region="IDF"),
            "device": DeviceNode(type=device, os="Linux", browser="Chrome"),  # type: ignore[arg-type]
            "content": ContentNode(id="movie-1", stream_type="vod"),
        }
        if custom is not None:
            self.nodes["custom"] = custom

    def __call__(self, ts: int, kind: str, *, kbps: float | None = None, **kw: Any) -> Event:
        """The next event of the view: ``kind`` at ``ts`` (``kbps`` sets fluxdata bitrate)."""
        if kind in ("fatal", "warning", "business"):
            kw["error"] = ErrorNode(
                code="E1",
                severity="warning" if kind == "warning" else "fatal",
                message=f"{kind} error",
                business=kind == "business",
            )
            kind = "error"
        if kind == "view_end":
            kw.setdefault("reason", "ended")
        if kbps is not None:
            kw["fluxdata"] = FluxdataNode(bitrate_kbps=kbps)
        event = CLASSES[kind](
            event_id=f"{self.view_id}-{self.seq}",
            seq=self.seq,
            client_ts=ts,
            event_ts=ts,
            view_id=self.view_id,
            **self.nodes,
            **kw,
        )
        self.seq += 1
        return cast(Event, event)

    def script(self, steps: Iterable[tuple[Any, ...]]) -> list[Event]:
        """Events of ``(ts, kind)`` or ``(ts, kind, kbps)`` steps."""
        return [self(step[0], step[1], kbps=step[2] if len(step) > 2 else None) for step in steps]


@dataclass
class Run:
    """Everything an aggregation emitted while fed."""

    views: dict[str, ViewRecord] = field(default_factory=dict)
    windows: list[WindowResult] = field(default_factory=list)
    late_events: int = 0
    duplicates: int = 0
    ignored: int = 0
    dropped: int = 0
    corrections: int = 0

    def final(self) -> dict[str, WindowResult]:
        """The latest revision of each window key."""
        out: dict[str, WindowResult] = {}
        for r in self.windows:
            prev = out.get(r.key())
            assert prev is None or r.revision == prev.revision + 1, (prev, r)
            out[r.key()] = r
        return out

    def window(self, size: str, start: int, **dims: Any) -> WindowResult:
        """The latest revision of one window (``dims`` empty: all views)."""
        matches = [
            r
            for r in self.final().values()
            if r.window == size and r.window_start_ms == start and r.dimensions == dims
        ]
        assert len(matches) == 1, f"no single {size} window at {start} for {dims}"
        return matches[0]


def collect(run: Run, agg: Aggregation, watermark: int) -> None:
    """Advance ``agg`` and record what it emitted into ``run``."""
    out = agg.advance(watermark)
    for record in out.views:
        assert record.view_id not in run.views, f"view {record.view_id} emitted twice"
        run.views[record.view_id] = record
    run.windows += out.windows
    run.late_events += out.late_events
    run.duplicates += out.duplicates
    run.ignored += out.ignored_events
    run.dropped += out.late_window_updates
    run.corrections += out.corrections


def feed(
    events: Iterable[Event],
    settings: AggregationSettings | None = None,
    *,
    agg: Aggregation | None = None,
    run: Run | None = None,
    end: int | None = FAR,
) -> Run:
    """Add events one by one, advancing to the highest event time after each; then ``end``."""
    agg = agg if agg is not None else Aggregation(settings)
    run = run if run is not None else Run()
    watermark = agg.watermark_ms
    for event in events:
        agg.add(event)
        watermark = max(watermark, event.event_ts or 0)
        collect(run, agg, watermark)
    if end is not None:
        collect(run, agg, end)
    return run


def one_view(steps: Iterable[tuple[Any, ...]], **settings: Any) -> ViewRecord:
    """The record of a single scripted view fed in order."""
    run = feed(View().script(steps), AggregationSettings(**settings) if settings else None)
    assert list(run.views) == ["v1"]
    return run.views["v1"]
