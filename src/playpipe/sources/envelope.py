"""The last step shared by the Mux, Snowplow and EPAS mappings: one raw record's events made.

Every event mapped from one raw record shares its envelope (view, source, player, content…)
and the request facts of that record. :meth:`Envelope.event` adds one event's own fields,
validates the result, gives it its deterministic ``event_id`` and ``seq`` (see
:mod:`playpipe.sources.viewstate`) and fills the collector's fields from the raw record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playpipe.dictionary import Event
from playpipe.sources.rawctx import RawContext
from playpipe.sources.values import convert
from playpipe.sources.viewstate import event_id, seq_of


@dataclass(frozen=True)
class Envelope:
    """What the events made from one raw record share."""

    source: str
    view_id: str
    fields: dict[str, Any]
    """Dictionary fields every event gets (an event's own fields win)."""
    ctx: RawContext
    sent_at: int | None
    """The client's send time when it shows a clock error to correct (``usable_sent_at``)."""
    where: str = "$"
    """Where in the raw record the source event is, for the error of an invalid event."""

    def event(self, body: dict[str, Any], order: int, position: int, *identity: object) -> Event:
        """The ``position``-th event made from the source event numbered ``order`` (its
        sequence number, or its client time in ms), identified by ``identity`` in its view."""
        event = convert({**self.fields, **body, "seq": seq_of(order, position)}, self.where)
        event.event_id = event_id(self.source, self.view_id, *identity, position)
        self.ctx.stamp(event, self.sent_at)
        return event
