"""A view's timeline for the view explorer, from its record.

View records carry the view's milestones (start, play intent, first frame, fatal error, end)
and its time per state, not every state interval. The explorer shows what the record holds:

- ``segments``: the intervals the milestones pin down exactly — ``idle`` from the view's
  start to the play intent, ``startup`` from the intent to the first frame (or to the end
  for a view that never started), then ``after first frame`` up to the end, whose split
  into states is given by ``state_ms``;
- ``milestones``: each known instant with its label;
- ``state_ms``: milliseconds per state (playing, rebuffering, paused, seeking, ad, startup).

A record that does carry its intervals (a list ``timeline`` of ``{state, start_ms,
end_ms}``) is shown as it is, with ``source: "record"``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_timeline"]

_STATES = ("playing", "rebuffering", "paused", "seeking", "ad")


def _milestones(record: dict[str, Any]) -> list[dict[str, Any]]:
    marks: list[dict[str, Any]] = []

    def mark(ts: Any, event: str, label: str) -> None:
        if isinstance(ts, int):
            marks.append({"t": ts, "event": event, "label": label})

    mark(record.get("start_ms"), "view_start", "View start")
    mark(record.get("play_intent_ms"), "play_intent", "Play intent")
    mark(record.get("first_frame_ms"), "first_frame", "First frame")
    error = record.get("fatal_error")
    if isinstance(error, dict):
        mark(error.get("ts_ms"), "fatal_error", f"Fatal error {error.get('code', '')}".strip())
    reason = record.get("end_reason") or "end"
    mark(record.get("end_ms"), "view_end", f"View end ({reason})")
    return sorted(marks, key=lambda m: m["t"])


def _segments(record: dict[str, Any]) -> list[dict[str, Any]]:
    start, end = record.get("start_ms"), record.get("end_ms")
    intent, first = record.get("play_intent_ms"), record.get("first_frame_ms")
    if not isinstance(start, int) or not isinstance(end, int):
        return []
    segments: list[dict[str, Any]] = []

    def add(state: str, a: Any, b: Any) -> None:
        if isinstance(a, int) and isinstance(b, int) and b > a:
            segments.append({"state": state, "start_ms": a, "end_ms": b})

    add("idle", start, intent if isinstance(intent, int) else end)
    if isinstance(intent, int):
        add("startup", intent, first if isinstance(first, int) else end)
    if isinstance(first, int):
        add("after_first_frame", first, end)
    return segments


def build_timeline(record: dict[str, Any]) -> dict[str, Any]:
    """Segments, milestones and time per state of one view record."""
    state_ms = {s: record.get(f"{s}_time_ms") or 0 for s in _STATES}
    state_ms["startup"] = record.get("startup_time_ms") or 0
    carried = record.get("timeline")
    if isinstance(carried, list) and carried:
        return {
            "source": "record",
            "segments": carried,
            "milestones": _milestones(record),
            "state_ms": state_ms,
        }
    return {
        "source": "summary",
        "segments": _segments(record),
        "milestones": _milestones(record),
        "state_ms": state_ms,
    }
