"""The truth files, and recomputing the truth on the times a pipeline observed.

A truth file ``T`` (JSON lines, one :class:`~playpipe.simulate.ViewTruth` per view) comes
with ``T.windows.jsonl`` (one :class:`~playpipe.simulate.WindowTruth` per window record)
and ``T.timelines.jsonl`` (one :class:`~playpipe.simulate.Timeline` per view, the input of
both). :func:`recompute` turns timelines back into truth, optionally moved onto observed
event times with :func:`~playpipe.simulate.rebase`: that is how an end-to-end test compares
exactly, transit delays included.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec

from playpipe.simulate.aggregates import WindowAccumulator, WindowTruth
from playpipe.simulate.options import DEFAULT_DIMENSION_SETS
from playpipe.simulate.timeline import Timeline, rebase
from playpipe.simulate.truth import ViewTruth, view_truth

__all__ = [
    "TruthFiles",
    "load_timelines",
    "recompute",
    "timelines_path",
    "windows_path",
    "write_truth",
]


@dataclass(frozen=True, slots=True)
class TruthFiles:
    """Where one run's truth went."""

    views: Path
    windows: Path
    timelines: Path


def windows_path(path: Path) -> Path:
    """The window truth next to the truth file ``path``: ``<path>.windows.jsonl``."""
    return path.with_name(f"{path.name}.windows.jsonl")


def timelines_path(path: Path) -> Path:
    """The timelines next to the truth file ``path``: ``<path>.timelines.jsonl``."""
    return path.with_name(f"{path.name}.timelines.jsonl")


def _write_lines(path: Path, records: Iterable[object]) -> None:
    encoder = msgspec.json.Encoder()
    with path.open("wb") as out:
        for record in records:
            out.write(encoder.encode(record) + b"\n")


def write_truth(
    path: Path,
    views: Sequence[ViewTruth],
    windows: Sequence[WindowTruth],
    timelines: Sequence[Timeline],
) -> TruthFiles:
    """Write the three truth files of one run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    files = TruthFiles(path, windows_path(path), timelines_path(path))
    _write_lines(files.views, views)
    _write_lines(files.windows, windows)
    _write_lines(files.timelines, timelines)
    return files


def load_timelines(path: Path) -> list[Timeline]:
    """Read the timelines of the truth file ``path`` (or of a ``.timelines.jsonl`` file)."""
    source = path if path.name.endswith(".timelines.jsonl") else timelines_path(path)
    decoder = msgspec.json.Decoder(Timeline)
    return [decoder.decode(line) for line in source.read_bytes().splitlines() if line]


def recompute(
    timelines: Iterable[Timeline],
    observed: Mapping[str, int] | None = None,
    *,
    windows_ms: Sequence[int] = (10_000, 60_000),
    dimension_sets: Sequence[Sequence[str]] = DEFAULT_DIMENSION_SETS,
) -> tuple[list[ViewTruth], list[WindowTruth]]:
    """View and window truth of ``timelines``; with ``observed`` (event_id → event_ts as
    the pipeline kept it), every instant is first moved to its observed time."""
    views: list[ViewTruth] = []
    acc = WindowAccumulator(windows_ms, dimension_sets)
    for tl in timelines:
        moved = tl if observed is None else rebase(tl, observed)
        truth = view_truth(moved)
        views.append(truth)
        acc.add(moved, truth)
    return views, acc.records()
