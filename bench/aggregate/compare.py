"""Window metrics of two engines compared row by row (window start x cdn x country x device).

playpipe's records are ``WindowResult`` JSON (dimensions in ``dimensions``, corrections as
later revisions of the same key: the last one read counts); the Quix Streams job writes the
same field names with the dimensions at the top level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import msgspec
from bench.aggregate.watch import read_all

encode_json = msgspec.json.encode

FIELDS = (
    "attempts",
    "starts",
    "concurrent_viewers",
    "playing_time_ms",
    "rebuffering_time_ms",
    "watch_time_ms",
    "rebuffer_count",
    "avg_bitrate_kbps",
)
Key = tuple[int, tuple[str, str, str]]


def row_of(value: dict[str, object]) -> tuple[Key, dict[str, object]] | None:
    """(window start, dims) and the compared metrics of one output record."""
    start = value.get("window_start_ms")
    if not isinstance(start, int):
        return None
    dims = value.get("dimensions")
    source = dims if isinstance(dims, dict) else value
    names = ("cdn", "country", "device_type")
    if any(n not in source for n in names):
        return None
    key = (start, (str(source["cdn"]), str(source["country"]), str(source["device_type"])))
    return key, {f: value.get(f) for f in FIELDS}


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, int | float)
            and isinstance(b, int | float)
            and math.isclose(a, b, rel_tol=1e-9)
        )
    return a == b


def _empty(metrics: dict[str, object]) -> bool:
    return all(not v for v in metrics.values())


@dataclass
class Comparison:
    names: tuple[str, str]
    rows: tuple[int, int]
    matched: int = 0
    mismatched: list[tuple[Key, dict[str, tuple[object, object]]]] = field(default_factory=list)
    only: tuple[list[Key], list[Key]] = field(default_factory=lambda: ([], []))
    only_empty: tuple[int, int] = (0, 0)
    """Rows of one engine only whose metrics are all zero (no activity to compare)."""

    def show(self, title: str) -> None:
        a, b = self.names
        print(
            f"{title}, window x cdn x country x device rows: {a} {self.rows[0]:,},"
            f" {b} {self.rows[1]:,}; matched {self.matched:,}, different"
            f" {len(self.mismatched):,}, only {a} {len(self.only[0]):,}"
            f" (+{self.only_empty[0]} all zero), only {b} {len(self.only[1]):,}"
            f" (+{self.only_empty[1]} all zero)"
        )
        for key, diffs in self.mismatched[:5]:
            shown = ", ".join(f"{f} {x!r} vs {y!r}" for f, (x, y) in diffs.items())
            print(f"  differs {key}: {shown}")
        for side, keys in zip(self.names, self.only, strict=True):
            for key in keys[:3]:
                print(f"  only {side}: {key}")


def _rows(bootstrap: str, topic: str, lo: int, hi: int) -> dict[Key, dict[str, object]]:
    rows: dict[Key, dict[str, object]] = {}
    for _key, value in read_all(bootstrap, topic):
        row = row_of(value)
        if row is not None and lo <= row[0][0] and row[0][0] + 10_000 <= hi:
            rows[row[0]] = row[1]
    return rows


def outputs(bootstrap: str, topics: dict[str, str], lo: int, hi: int) -> Comparison:
    """Compare the windows in [lo, hi) of the first two engines' output topics."""
    (a, ta), (b, tb) = list(topics.items())[:2] if len(topics) > 1 else (*topics.items(),) * 2
    return _compare((a, b), _rows(bootstrap, ta, lo, hi), _rows(bootstrap, tb, lo, hi))


def against_reference(bootstrap: str, source: str, topic: str, lo: int, hi: int) -> Comparison:
    """playpipe's output topic against the same job run on the same input without Kafka:
    every event of ``source`` up to ``hi`` in event-time order through one ``Aggregation``
    (windows in [lo, hi), as in :func:`outputs`)."""
    import orjson

    from playpipe.dictionary import decode_event
    from playpipe.streams.aggregation import Aggregation
    from playpipe.streams.aggsettings import AggregationSettings

    settings = AggregationSettings(
        windows=["10s"], dimension_sets=[["cdn", "country", "device_type"]]
    )
    events = [decode_event(orjson.dumps(value)) for _key, value in read_all(bootstrap, source)]
    events = [e for e in events if e.event_ts is not None and e.event_ts <= hi + 20_000]
    events.sort(key=lambda e: (e.event_ts, e.view_id, e.seq))
    agg = Aggregation(settings)
    for event in events:
        agg.add(event)
    reference: dict[Key, dict[str, object]] = {}
    for result in agg.advance(max(e.event_ts or 0 for e in events)).windows:
        row = row_of(orjson.loads(encode_json(result)))
        if row is not None and lo <= row[0][0] and row[0][0] + 10_000 <= hi:
            reference[row[0]] = row[1]
    return _compare(("playpipe", "reference"), _rows(bootstrap, topic, lo, hi), reference)


def _compare(
    names: tuple[str, str], ra: dict[Key, dict[str, object]], rb: dict[Key, dict[str, object]]
) -> Comparison:
    a, b = names
    result = Comparison((a, b), (len(ra), len(rb)))
    for key in sorted(ra.keys() | rb.keys()):
        x, y = ra.get(key), rb.get(key)
        if x is None or y is None:
            side = 0 if y is None else 1
            metrics = x if x is not None else y
            assert metrics is not None
            if _empty(metrics):
                counts = list(result.only_empty)
                counts[side] += 1
                result.only_empty = (counts[0], counts[1])
            else:
                result.only[side].append(key)
            continue
        diffs = {f: (x[f], y[f]) for f in FIELDS if not _same(x[f], y[f])}
        if diffs:
            result.mismatched.append((key, diffs))
        else:
            result.matched += 1
    return result


class _State:
    """A dict standing in for Quix Streams' per-key state."""

    def __init__(self) -> None:
        self.data: dict[str, object] = {}

    def get(self, key: str, default: object = None) -> object:
        return self.data.get(key, default)

    def set(self, key: str, value: object) -> None:
        self.data[key] = value


def without_kafka(total: int, views: int, seed: int) -> Comparison:
    """Both jobs' logic on the same events in order, no Kafka: are they the same job?

    playpipe's ``Aggregation`` against the Quix job's per-view function and window sums
    called directly, over ``total`` events; windows ending 20 s before the last event.
    """
    import orjson
    from bench.aggregate import quix_job
    from bench.aggregate.pure import events

    from playpipe.dictionary import encode_event
    from playpipe.streams.aggregation import Aggregation
    from playpipe.streams.aggsettings import AggregationSettings

    settings = AggregationSettings(
        windows=["10s"], dimension_sets=[["cdn", "country", "device_type"]]
    )
    agg = Aggregation(settings)
    states: dict[str, _State] = {}
    sums: dict[tuple[int, str], dict[str, int]] = {}
    last = 0
    for _, event in zip(range(total), events(views, seed), strict=False):
        agg.add(event)
        state = states.setdefault(event.view_id, _State())
        for piece in quix_job.per_view(orjson.loads(encode_event(event)), state):  # type: ignore[arg-type]
            key = (piece["t"], piece["k"])
            found = sums.get(key)
            sums[key] = quix_job.initial(piece) if found is None else quix_job.add(found, piece)
        last = event.event_ts or last
    hi = last - 20_000
    ours: dict[Key, dict[str, object]] = {}
    for result in agg.advance(last).windows:
        row = row_of(orjson.loads(encode_json(result)))
        if row is not None and row[0][0] + 10_000 <= hi:
            ours[row[0]] = row[1]
    theirs: dict[Key, dict[str, object]] = {}
    for (start, dims), total_ in sums.items():
        window = {"start": start, "end": start + 10_000, "value": total_}
        row = row_of(quix_job.result(window, dims, 0, None))
        if row is not None and row[0][0] + 10_000 <= hi:
            theirs[row[0]] = row[1]
    return _compare(("playpipe", "quixstreams"), ours, theirs)
