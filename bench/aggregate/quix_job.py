"""The benchmark's QoE job written with Quix Streams (the peer of ``playpipe aggregate``).

Same job: per-view state (the view's player state, bitrate and the time up to which its state
time was counted), then 10 s tumbling windows by cdn x country x device type with the window
metrics both engines compute: attempts, starts, concurrent viewers, startup / playing /
rebuffering / seeking time, rebuffer count, time-weighted bitrate.

1. ``apply(stateful=True, expand=True)`` keyed by ``view_id``: each event attributes the time
   since the view's previous event to the state the view was in, split at window boundaries
   ("state time falls into the window it happened in", docs/metrics.md), and counts its facts
   (play intent, first frame, rebuffer start). The state table is the one of docs/metrics.md,
   written here for the event types the benchmark sends; it does not reorder, dedupe or time
   views out (playpipe does). Quix Streams has no timers, so a view's time is only counted
   when its next event arrives: the grace must cover the longest silence of a view (its
   heartbeat interval) plus how far apart the input partitions are read.
2. ``set_timestamp`` to each piece's time, ``group_by`` cdn|country|device (a repartition
   topic), ``tumbling_window(10 s).reduce(...).final()``, results to the output topic.

Run: ``python -m bench.aggregate.quix_job --bootstrap B --input T --output O --group G``.
Prints the number of pieces dropped as late when it stops (SIGTERM).
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

import orjson
from quixstreams import Application, State
from quixstreams.models.serializers.json import JSONDeserializer, JSONSerializer

WINDOW_MS = 10_000
IDLE, STARTUP, PLAYING, PAUSED, SEEKING, REBUFFERING, ENDED = range(7)
ACTIVE = (STARTUP, PLAYING, REBUFFERING)
# Per state, the field of the piece its time goes to.
TIME_FIELD = {STARTUP: "u", PLAYING: "p", REBUFFERING: "r", SEEKING: "s"}
SUMS = ("u", "p", "r", "s", "bm", "bs", "c", "a", "st", "rb")
late = 0


def _piece(pieces: dict[int, dict[str, Any]], ws: int, key: str) -> dict[str, Any]:
    piece = pieces.get(ws)
    if piece is None:
        piece = pieces[ws] = dict.fromkeys(SUMS, 0)
        piece["t"] = ws
        piece["k"] = key
    return piece


def _attribute(v: dict[str, Any], ts: int, pieces: dict[int, dict[str, Any]]) -> None:
    """Count the time since ``v['a']`` in the current state, window by window."""
    start, s = v["a"], v["s"]
    if ts <= start:
        return
    v["a"] = ts
    field = TIME_FIELD.get(s)
    active = s in ACTIVE
    if field is None and not active:
        return
    ws = start - start % WINDOW_MS
    while ws < ts:
        we = ws + WINDOW_MS
        piece = _piece(pieces, ws, v["k"])
        d = min(ts, we) - max(start, ws)
        if field is not None:
            piece[field] += d
        if s == PLAYING and v["b"] >= 0:
            piece["bm"] += d
            piece["bs"] += v["b"] * d
        if active and v["c"] < ws:
            v["c"] = ws
            piece["c"] += 1
        ws = we


def _to(v: dict[str, Any], ts: int, state: int, pieces: dict[int, dict[str, Any]]) -> None:
    _attribute(v, ts, pieces)
    v["s"] = state


def _fact(v: dict[str, Any], ts: int, name: str, pieces: dict[int, dict[str, Any]]) -> None:
    _piece(pieces, ts - ts % WINDOW_MS, v["k"])[name] += 1


def per_view(event: dict[str, Any], state: State[Any, Any]) -> list[dict[str, Any]]:
    """One event of a view → the pieces of window activity it completes."""
    ts: int = event["event_ts"]
    v: dict[str, Any] | None = state.get("v")
    if v is None:
        key = "|".join(
            (
                str(event.get("network", {}).get("cdn")),
                str(event.get("geo", {}).get("country")),
                str(event.get("device", {}).get("type")),
            )
        )
        v = {"s": IDLE, "a": ts, "b": -1, "c": -1, "k": key, "pre": PLAYING, "started": False}
    pieces: dict[int, dict[str, Any]] = {}
    kbps = (event.get("fluxdata") or {}).get("bitrate_kbps")
    if kbps is not None:
        bps = int(kbps * 1000 + 0.5)
        if bps != v["b"]:
            _attribute(v, ts, pieces)
            v["b"] = bps
    kind, s = event["event_type"], v["s"]
    if kind == "play_requested" and s == IDLE:
        _to(v, ts, STARTUP, pieces)
        _fact(v, ts, "a", pieces)
    elif kind == "first_frame" and not v["started"] and s in (IDLE, STARTUP):
        if s == IDLE:  # autoplay: the intent is at the first event
            _fact(v, ts, "a", pieces)
        _to(v, ts, PLAYING, pieces)
        v["started"] = True
        _fact(v, ts, "st", pieces)
    elif kind == "playing" and s in (PAUSED, SEEKING, REBUFFERING):
        _to(v, ts, PLAYING, pieces)
    elif kind == "paused" and s in (PLAYING, REBUFFERING, SEEKING):
        _to(v, ts, PAUSED, pieces)
    elif kind == "seek_start" and s in (PLAYING, PAUSED, REBUFFERING):
        v["pre"] = PAUSED if s == PAUSED else PLAYING
        _to(v, ts, SEEKING, pieces)
    elif kind == "seek_end" and s == SEEKING:
        _to(v, ts, v["pre"], pieces)
    elif kind == "rebuffer_start" and s == PLAYING:
        _to(v, ts, REBUFFERING, pieces)
        _fact(v, ts, "rb", pieces)
    elif kind == "rebuffer_end" and s == REBUFFERING:
        _to(v, ts, PLAYING, pieces)
    elif (kind == "ended" and s in (PLAYING, PAUSED, REBUFFERING)) or kind == "view_end":
        _to(v, ts, ENDED, pieces)
    else:
        _attribute(v, ts, pieces)
    state.set("v", v)
    return list(pieces.values())


def initial(piece: dict[str, Any]) -> dict[str, int]:
    return {name: piece[name] for name in SUMS}


def add(total: dict[str, int], piece: dict[str, Any]) -> dict[str, int]:
    for name in SUMS:
        total[name] += piece[name]
    return total


def count_late(
    value: Any,
    key: Any,
    timestamp_ms: int,
    late_by_ms: int,
    start: int,
    end: int,
    store_name: str,
    topic: str,
    partition: int,
    offset: int,
) -> bool:
    global late
    late += 1
    return False  # counted here instead of one log line per late piece


def result(window: dict[str, Any], key: Any, _ts: int, _headers: Any) -> dict[str, Any]:
    """The window in the shape of playpipe's metric records (the fields compared)."""
    total = window["value"]
    played = total["p"] + total["r"]
    cdn, country, device = str(key).split("|")
    return {
        "cdn": cdn,
        "country": country,
        "device_type": device,
        "window_start_ms": window["start"],
        "window_end_ms": window["end"],
        "attempts": total["a"],
        "starts": total["st"],
        "concurrent_viewers": total["c"],
        "playing_time_ms": total["p"],
        "rebuffering_time_ms": total["r"],
        "watch_time_ms": total["u"] + total["p"] + total["r"] + total["s"],
        "rebuffer_count": total["rb"],
        "rebuffer_ratio": total["r"] / played if played else None,
        "avg_bitrate_kbps": total["bs"] / total["bm"] / 1000 if total["bm"] else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--grace-ms", type=int, default=15_000)
    parser.add_argument(
        "--partition-fetch-bytes",
        type=int,
        default=16_384,
        help="max.partition.fetch.bytes: how far ahead one input partition is read",
    )
    args = parser.parse_args()
    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        state_dir=args.state_dir,
        loglevel="WARNING",
        consumer_extra_config={
            "fetch.queue.backoff.ms": 10,
            "max.partition.fetch.bytes": args.partition_fetch_bytes,
        },
    )
    source = app.topic(
        args.input,
        value_deserializer=JSONDeserializer(loads=orjson.loads),
        key_deserializer="str",
        timestamp_extractor=lambda value, _headers, _ts, _type: int(value["event_ts"]),
    )
    sink = app.topic(args.output, value_serializer=JSONSerializer(dumps=orjson.dumps))
    sdf = app.dataframe(source)
    sdf = sdf.apply(per_view, stateful=True, expand=True)
    sdf = sdf.set_timestamp(lambda value, _key, _ts, _headers: int(value["t"]))
    sdf = sdf.group_by(lambda value: value["k"], name="dims")
    sdf = (
        sdf.tumbling_window(WINDOW_MS, grace_ms=args.grace_ms, on_late=count_late)
        .reduce(add, initial)
        .final()
    )
    sdf = sdf.apply(result, metadata=True)
    sdf.to_topic(sink)
    app.run()
    logging.shutdown()
    print(f"late_pieces {late}", flush=True)


if __name__ == "__main__":
    main()
