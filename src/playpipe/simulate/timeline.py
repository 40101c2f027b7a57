"""The true timeline of one view: what the simulated player actually did, and when.

The player writes it while it plays, next to the events it emits. Every instant in it is
tied to the ``event_id`` of the event that announced it, so the whole timeline can be moved
onto the times a pipeline observed for those events (:func:`rebase`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

__all__ = ["STATES", "BatchFlags", "Fatal", "Instant", "Timeline", "rebase"]

STATES = ("idle", "startup", "playing", "paused", "seeking", "rebuffering", "ad", "ended")
"""The view states of docs/metrics.md."""

Instant = tuple[int, str]
"""``(true time in ms, event_id of the event that announced it)``."""


@dataclass(frozen=True, slots=True)
class Fatal:
    """The first fatal error of a view."""

    t: int
    event_id: str
    code: str
    message: str
    business: bool


@dataclass(slots=True)
class BatchFlags:
    """How the view's events travelled: batches, and which of them were lost or doubled."""

    batches: int = 0
    batches_lost: int = 0
    batches_duplicated: int = 0
    events_lost: int = 0
    batches_reordered: int = 0
    """Delivered batches sent after a batch holding later events of the view."""
    batches_after_end: int = 0
    """Delivered batches sent after the batch holding the view's last event: a pipeline that
    closes the view on ``view_end`` may count their events late."""


@dataclass(slots=True)
class Timeline:
    """The true record of one view.

    ``changes`` lists every state entered, in order: ``(t, state, event_id)``; the first is
    ``idle`` at ``view_start``. ``bitrates`` lists every change of the current bitrate
    (the first frame's rendition, then each rendition change). The view ends at ``end``:
    its ``view_end`` event, or its last event when it sent none (``end_reason`` is then
    ``timeout``, as the pipeline will close it).
    """

    view_id: str
    viewer_id: str
    session_id: str
    dims: dict[str, str | int | None]
    changes: list[tuple[int, str, str]] = field(default_factory=list)
    bitrates: list[tuple[int, float, str]] = field(default_factory=list)
    shifts: list[tuple[int, int, str]] = field(default_factory=list)
    """Rendition changes: ``(t, +1 up / -1 down, event_id)``."""
    rebuffers: list[Instant] = field(default_factory=list)
    intent: Instant | None = None
    first_frame: Instant | None = None
    fatal: Fatal | None = None
    end: Instant = (0, "")
    end_reason: str = "timeout"
    event_count: int = 0
    flags: BatchFlags = field(default_factory=BatchFlags)

    @property
    def start_ms(self) -> int:
        return self.changes[0][0]


def rebase(timeline: Timeline, observed: Mapping[str, int]) -> Timeline:
    """The same timeline with each instant moved to the time observed for its event.

    ``observed`` maps ``event_id`` to the time the pipeline assigned (the collector's
    ``event_ts``; for a duplicated event, the copy the pipeline kept). Instants whose event
    is missing from ``observed`` (lost batches) keep their true time.
    """

    def at(t: int, event_id: str) -> int:
        return observed.get(event_id, t)

    fatal = timeline.fatal
    return replace(
        timeline,
        changes=[(at(t, e), s, e) for t, s, e in timeline.changes],
        bitrates=[(at(t, e), b, e) for t, b, e in timeline.bitrates],
        shifts=[(at(t, e), d, e) for t, d, e in timeline.shifts],
        rebuffers=[(at(t, e), e) for t, e in timeline.rebuffers],
        intent=None if timeline.intent is None else (at(*timeline.intent), timeline.intent[1]),
        first_frame=(
            None
            if timeline.first_frame is None
            else (at(*timeline.first_frame), timeline.first_frame[1])
        ),
        fatal=None if fatal is None else replace(fatal, t=at(fatal.t, fatal.event_id)),
        end=(at(*timeline.end), timeline.end[1]),
    )
