"""What happens to each record before batching: sample, filter, timestamp, field selection.

Order: sampling (whole views, by a stable hash of ``view_id``), the filter (on the record as
read), the top-level ``timestamp`` field, then ``fields`` (include, exclude, rename). Every
step is checked at start; :class:`SetupError` names the key and the problem.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from playpipe.connectors.filter import FilterError, compile_filter
from playpipe.connectors.paths import MISSING, PathTree, check_path, get_path, split, tree_for
from playpipe.connectors.settings import ConnectorSettings, FieldSelection

TIMESTAMP_SOURCES: dict[str, tuple[str, ...]] = {
    "event": ("event_ts", "received_at", "client_ts", "window_start_ms", "end_ms"),
    "server": ("received_at",),
    "client": ("client_ts",),
}
_SCALE = float(2**64)


class SetupError(ValueError):
    """A connector setting is invalid: ``key`` is its dotted name, ``fix`` what to do."""

    def __init__(self, key: str, problem: str, fix: str) -> None:
        super().__init__(f"`{key}`: {problem}. {fix}")
        self.key = key
        self.problem = problem
        self.fix = fix


def sample_point(view_id: str) -> float:
    """A stable number in [0, 1) for a view: the same on every machine and every run."""
    digest = hashlib.blake2b(view_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def keeps(rate: float, view_id: str) -> bool:
    """Whether sampling at ``rate`` keeps this view (always for 1, never for 0)."""
    return rate >= 1.0 or (rate > 0.0 and sample_point(view_id) < rate)


def choose_timestamp(record: dict[str, Any], source: str, fallback_ms: int) -> int:
    """The record's time in ms: the first of the source's fields present, else ``fallback_ms``."""
    for name in TIMESTAMP_SOURCES[source]:
        value = record.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return fallback_ms


def _set_path(record: dict[str, Any], parts: list[str], value: Any) -> None:
    node = record
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def _pop_path(record: dict[str, Any], parts: list[str]) -> Any:
    node: Any = record
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        return node.pop(parts[-1], MISSING)
    return MISSING


class FieldSelector:
    """Applies ``include``, then ``exclude``, then ``rename`` to a record in place."""

    def __init__(self, selection: FieldSelection) -> None:
        include = list(selection.include)
        if include and "timestamp" not in include:
            include.append("timestamp")
        self.include = [split(p) for p in include]
        self.exclude = [split(p) for p in selection.exclude]
        self.rename = [(split(a), split(b)) for a, b in selection.rename.items()]

    @property
    def identity(self) -> bool:
        return not (self.include or self.exclude or self.rename)

    def __call__(self, record: dict[str, Any]) -> dict[str, Any]:
        if self.include:
            kept: dict[str, Any] = {}
            for parts in self.include:
                value = get_path(record, parts)
                if value is not MISSING:
                    _set_path(kept, parts, value)
            record = kept
        for parts in self.exclude:
            _pop_path(record, parts)
        for old, new in self.rename:
            value = _pop_path(record, old)
            if value is not MISSING:
                _set_path(record, new, value)
        return record


def check_selection(selection: FieldSelection, tree: PathTree | None) -> None:
    """Raise ``SetupError`` for a path that cannot exist on this topic."""
    for key, paths in (
        ("fields.include", selection.include),
        ("fields.exclude", selection.exclude),
    ):
        for path in paths:
            problem = check_path(path, tree)
            if problem:
                raise SetupError(key, problem, "Name a field of the data dictionary")
    for old, new in selection.rename.items():
        problem = check_path(old, tree) or check_path(new, None)
        if problem:
            raise SetupError(f'fields.rename."{old}"', problem, "Rename a dictionary field")


class Transform:
    """The per-record pipeline of one connector; ``None`` from :meth:`apply` means dropped."""

    def __init__(self, settings: ConnectorSettings) -> None:
        tree = tree_for(settings.topic)
        self.predicate: Callable[[dict[str, Any]], bool] | None = None
        if settings.filter.strip():
            try:
                self.predicate = compile_filter(settings.filter, tree)
            except FilterError as exc:
                raise SetupError(
                    "filter",
                    f"{exc}\n    {exc.pointer().replace(chr(10), chr(10) + '    ')}\n",
                    "Fix the expression (see docs/connectors.md, Filters)",
                ) from None
        check_selection(settings.fields, tree)
        self.select = FieldSelector(settings.fields)
        self.sample = settings.sample
        self.source = settings.timestamp
        self.sources = TIMESTAMP_SOURCES[settings.timestamp]
        self.identity = self.select.identity
        self.plain = self.identity and self.predicate is None and self.sample >= 1.0
        """Nothing but the timestamp to do: the runtime inlines that case."""
        self.dropped_by = ""

    def apply(self, record: dict[str, Any], kafka_ts_ms: int, key: bytes | None) -> Any:
        """The record to deliver, or ``None`` (``dropped_by`` says ``sample`` or ``filter``)."""
        if self.sample < 1.0:
            view = record.get("view_id")
            ident = view if isinstance(view, str) else (key or b"").decode("utf-8", "replace")
            if not keeps(self.sample, ident):
                self.dropped_by = "sample"
                return None
        if self.predicate is not None and not self.predicate(record):
            self.dropped_by = "filter"
            return None
        for name in self.sources:  # choose_timestamp, inlined: this runs for every record
            value = record.get(name)
            if type(value) is int:
                record["timestamp"] = value
                break
        else:
            record["timestamp"] = kafka_ts_ms
        return record if self.identity else self.select(record)
