"""Read queries over the store: metric series and breakdowns, views, dimensions, errors.

Each function takes validated arguments (see :mod:`playpipe.api.params`) and the caller's
:class:`~playpipe.api.auth.Access`, and returns plain data ready to encode as JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from playpipe.api.auth import Access
from playpipe.api.catalog import METRICS, SMOOTHED, SUMMED, MetricDef
from playpipe.api.params import BadParameter
from playpipe.api.store import MetricsStore, dim_set_of
from playpipe.api.timeline import build_timeline

__all__ = [
    "VIEW_ORDER",
    "Forbidden",
    "MetricsQuery",
    "ViewsQuery",
    "dimension_values",
    "get_view",
    "list_views",
    "metrics",
    "top_errors",
]

Filters = dict[str, list[str]]


class Forbidden(Exception):
    """The token may read some properties, but the query cannot be limited to them."""


@dataclass
class MetricsQuery:
    """``GET /v1/metrics``, validated."""

    names: list[str]
    window: str
    start_ms: int
    end_ms: int
    by: list[str] = field(default_factory=list)
    filters: Filters = field(default_factory=dict)
    shape: Literal["series", "total"] = "series"
    limit: int = 50


def _where(filters: Filters, access: Access, params: list[Any], prop_col: str) -> str:
    """SQL conditions (``AND …``) for dimension filters and the token's properties."""
    sql = ""
    for name, values in filters.items():
        sql += " AND dims[?] IN (SELECT unnest(?))"
        params += [name, values]
    if access.properties is not None:
        sql += f" AND {prop_col} IN (SELECT unnest(?))"
        params.append(sorted(access.properties))
    return sql


def _choose_dim_set(store: MetricsStore, q: MetricsQuery, access: Access) -> str:
    needed = set(q.by) | set(q.filters)
    if access.restricted:
        needed.add("property")
    stored = store.dim_sets.get(q.window, frozenset())
    if not stored:  # nothing stored for this window yet: an empty answer, not an error
        return dim_set_of(needed)
    exact = dim_set_of(needed)
    if exact in stored:
        return exact
    covering = [s for s in stored if needed <= {n for n in s.split(",") if n}]
    if covering:
        return min(covering, key=lambda s: (len(s.split(",")), s))
    if access.restricted:
        raise Forbidden(
            "This token may read only some properties, and no stored dimension set of window "
            f"{q.window} includes `property` together with {sorted(needed - {'property'})}. "
            "Add such a set to the aggregation's dimension sets."
        )
    seen = {n for s in stored for n in s.split(",") if n}
    parameter = "by" if q.by and (set(q.by) - seen or not q.filters) else "filter"
    raise BadParameter(
        parameter,
        f"No stored dimension set of window {q.window} covers {sorted(needed)}. Stored sets: "
        + (", ".join(f"[{s}]" for s in sorted(stored)) or "none yet")
        + ". Break down and filter by dimensions of one set.",
        sorted(seen),
    )


def _inner_sql(groups: int) -> str:
    cols = ["window_start_ms AS t"]
    cols += [f"dims[?] AS g{i}" for i in range(groups)]
    cols.append("count(*) AS n")
    cols += [f"sum({m}) AS {m}" for m in SUMMED]
    for name in SMOOTHED:
        metric = METRICS[name]
        weight = metric.weight or "1"
        cols += [
            f"sum({name} * {weight}) FILTER (WHERE {name} IS NOT NULL) AS w_{name}",
            f"sum({weight}) FILTER (WHERE {name} IS NOT NULL) AS wt_{name}",
            f"any_value({name}) AS one_{name}",
        ]
    return "SELECT " + ", ".join(cols) + " FROM windows"


def _value(metric: MetricDef, c: dict[str, Any]) -> float | int | None:
    """The metric's value from the summed components of one point or one group."""
    if metric.kind in ("sum", "gauge"):
        return int(c[metric.name] or 0)
    if metric.kind == "ratio":
        den = sum(c[d] or 0 for d in metric.denominator)
        return (c[metric.numerator] or 0) / den * metric.scale if den else None
    if c["n"] == 1:
        one: float | None = c[f"one_{metric.name}"]
        return one
    weight = c[f"wt_{metric.name}"]
    return c[f"w_{metric.name}"] / weight if weight else None


def _combine(points: list[dict[str, Any]]) -> dict[str, Any]:
    """Components of a whole group over time: sums add, concurrency takes the peak."""
    total: dict[str, Any] = {"n": sum(p["n"] for p in points)}
    for name in SUMMED:
        values = [p[name] or 0 for p in points]
        total[name] = max(values) if METRICS[name].kind == "gauge" else sum(values)
    for name in SMOOTHED:
        total[f"w_{name}"] = sum(p[f"w_{name}"] or 0 for p in points)
        total[f"wt_{name}"] = sum(p[f"wt_{name}"] or 0 for p in points)
        total[f"one_{name}"] = points[0][f"one_{name}"] if len(points) == 1 else None
    return total


def metrics(store: MetricsStore, q: MetricsQuery, access: Access) -> dict[str, Any]:
    """Time series (``shape=series``) or one row per group (``shape=total``)."""
    dim_set = _choose_dim_set(store, q, access)
    params: list[Any] = list(q.by)
    sql = _inner_sql(len(q.by))
    sql += ' WHERE "window" = ? AND dim_set = ? AND window_start_ms >= ? AND window_start_ms < ?'
    params += [q.window, dim_set, q.start_ms, q.end_ms]
    sql += _where(q.filters, access, params, "dims['property']")
    sql += " GROUP BY ALL ORDER BY t"
    cursor = store.reader().execute(sql, params)
    names = [d[0] for d in cursor.description or []]
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in cursor.fetchall():
        point = dict(zip(names, row, strict=True))
        key = tuple(point[f"g{i}"] for i in range(len(q.by)))
        groups.setdefault(key, []).append(point)
    totals = {key: _combine(points) for key, points in groups.items()}
    ranked = sorted(totals, key=lambda k: (-totals[k]["attempts"], [str(v) for v in k]))
    kept = ranked[: q.limit]
    defs = [METRICS[n] for n in q.names]
    answer: dict[str, Any] = {
        "window": q.window,
        "from": q.start_ms,
        "to": q.end_ms,
        "by": q.by,
        "filter": q.filters,
        "dimension_set": [n for n in dim_set.split(",") if n],
        "metrics": {m.name: {"unit": m.unit, "label": m.label} for m in defs},
        "groups_total": len(groups),
    }
    exact = True
    if q.shape == "total":
        rows = []
        for key in kept:
            total = totals[key]
            exact = exact and total["n"] == 1
            rows.append(
                {
                    "group": dict(zip(q.by, key, strict=True)),
                    "points": len(groups[key]),
                    "values": {m.name: _value(m, total) for m in defs},
                }
            )
        answer["rows"] = rows
    else:
        series = []
        for key in kept:
            points = groups[key]
            exact = exact and all(p["n"] == 1 for p in points)
            series.append(
                {
                    "group": dict(zip(q.by, key, strict=True)),
                    "t": [p["t"] for p in points],
                    "values": {m.name: [_value(m, p) for p in points] for m in defs},
                }
            )
        answer["series"] = series
    answer["exact"] = exact
    return answer


# -- views ------------------------------------------------------------------------------
VIEW_ORDER = (
    "end_ms",
    "start_ms",
    "startup_time_ms",
    "rebuffer_ratio",
    "rebuffer_count",
    "watch_time_ms",
    "avg_bitrate_kbps",
    "experience_score",
)
"""Fields ``/v1/views`` can be ordered by (``-`` in front: descending)."""

_VIEW_LIST_COLUMNS = (
    "view_id",
    "start_ms",
    "end_ms",
    "end_reason",
    "outcome",
    "startup_time_ms",
    "playing_time_ms",
    "rebuffering_time_ms",
    "watch_time_ms",
    "rebuffer_count",
    "rebuffer_ratio",
    "avg_bitrate_kbps",
    "experience_score",
    "error_code",
    "dims",
)


@dataclass
class ViewsQuery:
    """``GET /v1/views``, validated."""

    start_ms: int
    end_ms: int
    filters: Filters = field(default_factory=dict)
    outcomes: list[str] = field(default_factory=list)
    order: str = "-end_ms"
    limit: int = 50


def list_views(store: MetricsStore, q: ViewsQuery, access: Access) -> dict[str, Any]:
    """Views that ended in the range, newest first unless ``order`` says otherwise."""
    params: list[Any] = [q.start_ms, q.end_ms]
    sql = "SELECT " + ", ".join(_VIEW_LIST_COLUMNS) + " FROM views WHERE end_ms >= ? AND end_ms < ?"
    sql += _where(q.filters, access, params, "property")
    if q.outcomes:
        sql += " AND outcome IN (SELECT unnest(?))"
        params.append(q.outcomes)
    column = q.order.lstrip("-")
    direction = "DESC" if q.order.startswith("-") else "ASC"
    sql += f" ORDER BY {column} {direction} NULLS LAST, view_id LIMIT ?"
    params.append(q.limit)
    rows = store.query(sql, params)
    views = []
    for row in rows:
        item = dict(zip(_VIEW_LIST_COLUMNS, row, strict=True))
        item["dimensions"] = item.pop("dims") or {}
        views.append(item)
    return {"from": q.start_ms, "to": q.end_ms, "order": q.order, "views": views}


def get_view(store: MetricsStore, view_id: str, access: Access) -> dict[str, Any] | None:
    """The whole record of one view and its timeline; None if absent or not readable."""
    rows = store.query("SELECT record, property FROM views WHERE view_id = ?", [view_id])
    if not rows or not access.allows(rows[0][1]):
        return None
    record = msgspec.json.decode(rows[0][0])
    return {"view": record, "timeline": build_timeline(record)}


def dimension_values(
    store: MetricsStore, name: str, start_ms: int, end_ms: int, limit: int, access: Access
) -> dict[str, Any]:
    """Values of one dimension seen in the range: in views (with counts) or in windows."""
    params: list[Any] = [name, start_ms, end_ms, name]
    sql = "SELECT dims[?] AS v, count(*) FROM views WHERE end_ms >= ? AND end_ms < ?"
    sql += " AND dims[?] IS NOT NULL"
    sql += _where({}, access, params, "property")
    counts = dict(store.query(sql + " GROUP BY v", params))
    params = [name, start_ms, end_ms, name]
    sql = "SELECT DISTINCT dims[?] FROM windows WHERE window_start_ms >= ? AND window_start_ms < ?"
    sql += " AND dims[?] IS NOT NULL"
    sql += _where({}, access, params, "dims['property']")
    for (value,) in store.query(sql, params):
        counts.setdefault(value, 0)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return {
        "name": name,
        "from": start_ms,
        "to": end_ms,
        "values": [{"value": v, "views": c} for v, c in ordered],
    }


def top_errors(
    store: MetricsStore,
    start_ms: int,
    end_ms: int,
    filters: Filters,
    limit: int,
    access: Access,
) -> dict[str, Any]:
    """Fatal error codes of views that ended in the range, most frequent first."""
    params: list[Any] = [start_ms, end_ms]
    sql = (
        "SELECT error_code, count(*) AS views,"
        " count(*) FILTER (WHERE outcome = 'start_failure') AS start_failures,"
        " count(*) FILTER (WHERE outcome = 'playback_failure') AS playback_failures,"
        " bool_or(error_business) AS business,"
        " any_value(json_extract_string(record, '$.fatal_error.message')) AS message"
        " FROM views WHERE end_ms >= ? AND end_ms < ? AND error_code IS NOT NULL"
    )
    sql += _where(filters, access, params, "property")
    sql += " GROUP BY error_code ORDER BY views DESC, error_code LIMIT ?"
    params.append(limit)
    keys = ("code", "views", "start_failures", "playback_failures", "business", "message")
    rows = [dict(zip(keys, row, strict=True)) for row in store.query(sql, params)]
    return {"from": start_ms, "to": end_ms, "filter": filters, "errors": rows}


def known_windows(store: MetricsStore, configured: Iterable[str]) -> list[str]:
    """Window names a query may ask for: configured ones and any found in the store."""
    return sorted(set(configured) | set(store.dim_sets))
