"""Synthetic view records and window results shaped as docs/metrics.md defines them.

The coarse dimension sets are derived from the finest one the way the aggregator would:
counts and state times add up, percentages and ratios are recomputed, percentiles and
scores are weighted means. Deterministic for a given seed.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

CDNS = ("akamai", "fastly", "cloudfront")
COUNTRIES = ("FR", "US", "DE")
DEVICES = ("desktop", "mobile", "tv")
PROPERTIES = ("site-a", "site-b")
VALUES = {"cdn": CDNS, "country": COUNTRIES, "device_type": DEVICES, "property": PROPERTIES}
DEFAULT_SETS = ([], ["cdn"], ["country"], ["device_type"], ["cdn", "country", "device_type"])
SUMS = (
    "attempts",
    "starts",
    "starts_active",
    "concurrent_viewers",
    "start_failures",
    "exits_before_start",
    "playback_failures",
    "playing_time_ms",
    "rebuffering_time_ms",
    "watch_time_ms",
    "rebuffer_count",
)
SIZES = {"10s": 10_000, "1m": 60_000}


def _pct(num: int, den: int) -> float | None:
    return num / den * 100 if den else None


def finish(record: dict[str, Any]) -> dict[str, Any]:
    """Fill the derived fields (percentages, ratio) from the counts."""
    r = record
    r["start_failure_pct"] = _pct(r["start_failures"], r["attempts"])
    r["exit_before_start_pct"] = _pct(r["exits_before_start"], r["attempts"])
    r["playback_failure_pct"] = _pct(r["playback_failures"], r["starts_active"])
    den = r["playing_time_ms"] + r["rebuffering_time_ms"]
    r["rebuffer_ratio"] = r["rebuffering_time_ms"] / den if den else None
    return r


def window(
    start_ms: int, dims: dict[str, Any], name: str = "10s", revision: int = 0, **metrics: Any
) -> dict[str, Any]:
    """One window result; unspecified metrics are zero / null."""
    size = SIZES.get(name, 10_000)
    record: dict[str, Any] = {
        "window": name,
        "size_ms": size,
        "window_start_ms": start_ms,
        "window_end_ms": start_ms + size,
        "dimensions": dims,
        "revision": revision,
        **dict.fromkeys(SUMS, 0),
        "startup_time_p50_ms": None,
        "startup_time_p90_ms": None,
        "startup_time_p95_ms": None,
        "avg_bitrate_kbps": None,
        "experience_score": None,
    }
    record.update(metrics)
    return finish(record)


def _cell(rng: random.Random, boost: float) -> dict[str, Any]:
    attempts = rng.randint(3, 12)
    starts = max(0, attempts - rng.randint(0, 2))
    playing = rng.randint(20_000, 90_000) * max(starts, 1)
    rebuffering = int(playing * rng.uniform(0.0, 0.04) * boost)
    p50 = rng.randint(600, 1500) * boost
    return {
        "attempts": attempts,
        "starts": starts,
        "starts_active": starts + rng.randint(0, 3),
        "concurrent_viewers": starts + rng.randint(1, 6),
        "start_failures": rng.randint(0, 1),
        "exits_before_start": rng.randint(0, 1),
        "playback_failures": rng.randint(0, 1),
        "playing_time_ms": playing,
        "rebuffering_time_ms": rebuffering,
        "watch_time_ms": playing + rebuffering + starts * int(p50),
        "rebuffer_count": rng.randint(0, 3),
        "startup_time_p50_ms": p50 if starts else None,
        "startup_time_p90_ms": p50 * 1.8 if starts else None,
        "startup_time_p95_ms": p50 * 2.2 if starts else None,
        "avg_bitrate_kbps": rng.choice((1800.0, 3200.0, 4500.0)) / boost if starts else None,
        "experience_score": rng.uniform(70, 95) / boost,
    }


def _weighted(cells: list[dict[str, Any]], name: str, weight: str | None) -> float | None:
    pairs = [(c[name], c[weight] if weight else 1) for c in cells if c[name] is not None]
    total = sum(w for _, w in pairs)
    return sum(v * w for v, w in pairs) / total if total else None


def _roll(cells: list[dict[str, Any]]) -> dict[str, Any]:
    out = {name: sum(c[name] for c in cells) for name in SUMS}
    for p in ("startup_time_p50_ms", "startup_time_p90_ms", "startup_time_p95_ms"):
        out[p] = _weighted(cells, p, "starts")
    out["avg_bitrate_kbps"] = _weighted(cells, "avg_bitrate_kbps", "playing_time_ms")
    out["experience_score"] = _weighted(cells, "experience_score", None)
    return out


def synthetic_windows(
    first_start_ms: int,
    count: int,
    name: str = "10s",
    finest: tuple[str, ...] = ("cdn", "country", "device_type"),
    sets: tuple[list[str], ...] | list[list[str]] = DEFAULT_SETS,
    seed: int = 7,
    slow_cdn: str = "fastly",
) -> list[dict[str, Any]]:
    """``count`` consecutive windows, each reported for every dimension set.

    ``slow_cdn`` has slower startups and more rebuffering, so breakdowns show a difference.
    """
    rng = random.Random(seed)
    size = SIZES[name]
    out: list[dict[str, Any]] = []
    for n in range(count):
        start = first_start_ms + n * size
        cells = []
        for combo in itertools.product(*(VALUES[d] for d in finest)):
            dims = dict(zip(finest, combo, strict=True))
            boost = 1.6 if dims.get("cdn") == slow_cdn else 1.0
            cells.append((dims, _cell(rng, boost)))
        for dim_set in sets:
            groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
            for dims, cell in cells:
                groups.setdefault(tuple(dims[d] for d in dim_set), []).append(cell)
            for key, members in groups.items():
                metrics = _roll(members)
                out.append(window(start, dict(zip(dim_set, key, strict=True)), name, **metrics))
    return out


ERRORS = (("MEDIA_ERR_NETWORK", "network error"), ("DRM_LICENSE", "license refused"))


def view(view_id: str, end_ms: int, **fields: Any) -> dict[str, Any]:
    """One view record with every field of docs/metrics.md; ``fields`` override."""
    start = end_ms - 120_000
    record: dict[str, Any] = {
        "view_id": view_id,
        "viewer_id": f"viewer-{view_id}",
        "start_ms": start,
        "end_ms": end_ms,
        "end_reason": "ended",
        "outcome": "ended",
        "attempted": True,
        "started": True,
        "play_intent_ms": start + 500,
        "first_frame_ms": start + 1700,
        "startup_time_ms": 1200,
        "playing_time_ms": 100_000,
        "rebuffering_time_ms": 2000,
        "paused_time_ms": 10_000,
        "seeking_time_ms": 1000,
        "ad_time_ms": 0,
        "watch_time_ms": 104_200,
        "rebuffer_count": 1,
        "rebuffer_ratio": 2000 / 102_000,
        "rebuffer_frequency_per_min": 0.6,
        "avg_bitrate_kbps": 3200.0,
        "upshifts": 2,
        "downshifts": 1,
        "fatal_error": None,
        "startup_score": 87.0,
        "smoothness_score": 90.0,
        "success_score": 100.0,
        "experience_score": 88.5,
        "event_count": 40,
        "duplicate_count": 0,
        "ignored_count": 0,
        "late_count": 0,
        "content_id": "movie-1",
        "stream_type": "vod",
        "player_name": "hls.js",
        "player_version": "1.7.4",
        "device_type": "desktop",
        "os": "Linux",
        "browser": "Chrome",
        "country": "FR",
        "region": "IDF",
        "asn": 3215,
        "isp": "Orange",
        "cdn": "akamai",
        "property": "site-a",
        "custom": {},
    }
    record.update(fields)
    return record


def synthetic_views(last_end_ms: int, count: int, seed: int = 11) -> list[dict[str, Any]]:
    """``count`` views ending over the 10 minutes before ``last_end_ms``, mixed outcomes."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        end = last_end_ms - rng.randint(0, 600_000)
        fields: dict[str, Any] = {
            "cdn": rng.choice(CDNS),
            "country": rng.choice(COUNTRIES),
            "device_type": rng.choice(DEVICES),
            "property": rng.choice(PROPERTIES),
            "startup_time_ms": rng.randint(500, 4000),
            "experience_score": round(rng.uniform(40, 99), 1),
        }
        fields["first_frame_ms"] = end - 120_000 + 500 + fields["startup_time_ms"]
        roll = rng.random()
        if roll < 0.15:
            code, message = rng.choice(ERRORS)
            fields.update(
                outcome="start_failure",
                started=False,
                first_frame_ms=None,
                startup_time_ms=None,
                end_reason="error",
                fatal_error={
                    "code": code,
                    "message": message,
                    "business": False,
                    "ts_ms": end - 100,
                },
            )
        elif roll < 0.25:
            fields.update(
                outcome="exit_before_start",
                started=False,
                first_frame_ms=None,
                startup_time_ms=None,
                end_reason="aborted",
            )
        out.append(view(f"v{seed}-{n:04d}", end, **fields))
    return out
