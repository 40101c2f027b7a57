"""Every event type of the data dictionary, and the ``Event`` tagged union.

The JSON field ``event_type`` carries the tag; class names are the tag in CamelCase plus
``Event``. State time (startup, playing, rebuffering, paused, seeking, ad) is derived by the
sessionizer from the order of these events within a view, not from event counts.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

from msgspec import Meta

from playpipe.dictionary._meta import Id, doc
from playpipe.dictionary.details import ErrorNode, SegmentNode
from playpipe.dictionary.envelope import BaseEvent

__all__ = [
    "EVENT_CLASSES",
    "EVENT_TYPES",
    "AdBreakEndEvent",
    "AdBreakStartEvent",
    "AdClickEvent",
    "AdEndEvent",
    "AdErrorEvent",
    "AdQuartileEvent",
    "AdSkipEvent",
    "AdStartEvent",
    "CdnChangeEvent",
    "CustomEvent",
    "EndedEvent",
    "ErrorEvent",
    "Event",
    "FirstFrameEvent",
    "HeartbeatEvent",
    "MilestoneEvent",
    "PausedEvent",
    "PlayRequestedEvent",
    "PlayerReadyEvent",
    "PlayingEvent",
    "RateChangeEvent",
    "RebufferEndEvent",
    "RebufferStartEvent",
    "RenditionChangeEvent",
    "SeekEndEvent",
    "SeekStartEvent",
    "SegmentResponseEvent",
    "ViewEndEvent",
    "ViewStartEvent",
    "VolumeChangeEvent",
]

EventName = Annotated[str, Meta(min_length=1, max_length=128)]


class PlayerReadyEvent(BaseEvent, tag="player_ready"):
    """The player is initialised and ready to load a source (ends player startup)."""


class ViewStartEvent(BaseEvent, tag="view_start"):
    """A new view began: a source was loaded into the player. First event of every view."""


class PlayRequestedEvent(BaseEvent, tag="play_requested"):
    """Play intent (viewer pressed play, or autoplay): makes the view a play attempt.

    Starts the video startup time, which runs until ``first_frame``.
    """


class FirstFrameEvent(BaseEvent, tag="first_frame"):
    """The first content frame was rendered: ends startup, the view is a video start."""


class PlayingEvent(BaseEvent, tag="playing"):
    """Playback is progressing: after first frame, a pause, a seek or a rebuffer."""


class PausedEvent(BaseEvent, tag="paused"):
    """Playback was paused by the viewer or the application."""


class SeekStartEvent(BaseEvent, tag="seek_start"):
    """The viewer moved the playhead; buffering until ``seek_end`` is seek time."""


class SeekEndEvent(BaseEvent, tag="seek_end"):
    """The seek completed; ``fluxdata.playhead_ms`` is the new position."""


class RebufferStartEvent(BaseEvent, tag="rebuffer_start"):
    """Playback stalled because the buffer ran dry while the viewer expected it to play.

    Buffering at startup (before ``first_frame``) or during a seek is not a rebuffer, and the
    HTML5 ``stalled`` event (the download made no progress) is not a rebuffer either.
    """


class RebufferEndEvent(BaseEvent, tag="rebuffer_end"):
    """Playback resumed after a rebuffer; the time since ``rebuffer_start`` is rebuffering."""


class RenditionChangeEvent(BaseEvent, tag="rendition_change"):
    """The player switched rendition; the new one is in ``fluxdata`` (rendition, bitrate)."""


class ErrorEvent(BaseEvent, tag="error"):
    """An error occurred. The ``error`` node is required.

    A ``fatal``, non-``business`` error before first frame is a video start failure, after it
    a playback failure; a ``warning`` does not change the view outcome.
    """

    error: Annotated[ErrorNode, doc("What went wrong (required on this event).")]


class EndedEvent(BaseEvent, tag="ended"):
    """Playback reached the end of the content."""


class ViewEndEvent(BaseEvent, tag="view_end"):
    """The view is over; last event of a view.

    The sessionizer also closes idle views with reason ``timeout``.
    """

    reason: Annotated[
        Literal["ended", "aborted", "error", "timeout"],
        doc(
            "ended: content finished; aborted: the viewer left or changed source; "
            "error: a fatal error stopped playback; timeout: no event for the idle gap.",
            "ended",
        ),
    ]


class HeartbeatEvent(BaseEvent, tag="heartbeat"):
    """Periodic beacon while the view is active, carrying current ``fluxdata``."""


class MilestoneEvent(BaseEvent, tag="milestone"):
    """The view passed a named progress point, e.g. 25 % of the content watched."""

    name: Annotated[EventName, doc("Milestone name.", "content_percent")]
    value: Annotated[
        int | float | None, doc("Value at the milestone, e.g. the percentage reached.", 25)
    ] = None


class RateChangeEvent(BaseEvent, tag="rate_change"):
    """Playback speed changed; the new rate is ``fluxdata.playback_rate``."""


class VolumeChangeEvent(BaseEvent, tag="volume_change"):
    """Volume or mute changed; see ``fluxdata.volume`` and ``fluxdata.muted``."""


class CdnChangeEvent(BaseEvent, tag="cdn_change"):
    """The CDN serving the media changed during the view."""

    cdn: Annotated[Id, doc("CDN now serving the media.", "fastly")]
    previous_cdn: Annotated[Id | None, doc("CDN that served the media before.", "akamai")] = None


class SegmentResponseEvent(BaseEvent, tag="segment_response"):
    """A media request (segment, manifest, init, subtitle) completed or failed."""

    segment: Annotated[SegmentNode, doc("The request and its timing (required).")]


class AdBreakStartEvent(BaseEvent, tag="ad_break_start"):
    """An ad break (pod) started; content playback is suspended until ``ad_break_end``."""


class AdBreakEndEvent(BaseEvent, tag="ad_break_end"):
    """The ad break ended; content playback resumes."""


class AdStartEvent(BaseEvent, tag="ad_start"):
    """An ad started playing (first ad frame): an ad impression."""


class AdQuartileEvent(BaseEvent, tag="ad_quartile"):
    """The ad reached a quartile; ``ad.quartile`` is 1, 2 or 3."""


class AdEndEvent(BaseEvent, tag="ad_end"):
    """The ad played to completion."""


class AdSkipEvent(BaseEvent, tag="ad_skip"):
    """The viewer skipped the ad."""


class AdClickEvent(BaseEvent, tag="ad_click"):
    """The viewer clicked the ad."""


class AdErrorEvent(BaseEvent, tag="ad_error"):
    """The ad failed to load or play; the ``error`` node is optional here."""


class CustomEvent(BaseEvent, tag="custom"):
    """A customer-defined event; its dimensions go in the ``custom`` node."""

    name: Annotated[EventName, doc("Custom event name.", "share_clicked")]


Event: TypeAlias = (
    PlayerReadyEvent
    | ViewStartEvent
    | PlayRequestedEvent
    | FirstFrameEvent
    | PlayingEvent
    | PausedEvent
    | SeekStartEvent
    | SeekEndEvent
    | RebufferStartEvent
    | RebufferEndEvent
    | RenditionChangeEvent
    | ErrorEvent
    | EndedEvent
    | ViewEndEvent
    | HeartbeatEvent
    | MilestoneEvent
    | RateChangeEvent
    | VolumeChangeEvent
    | CdnChangeEvent
    | SegmentResponseEvent
    | AdBreakStartEvent
    | AdBreakEndEvent
    | AdStartEvent
    | AdQuartileEvent
    | AdEndEvent
    | AdSkipEvent
    | AdClickEvent
    | AdErrorEvent
    | CustomEvent
)
"""Any dictionary event; decode with ``decode_event`` and dispatch on the class."""

EVENT_CLASSES: tuple[type[BaseEvent], ...] = Event.__args__
"""Every event class, in dictionary order."""

EVENT_TYPES: tuple[str, ...] = tuple(str(cls.__struct_config__.tag) for cls in EVENT_CLASSES)
"""Every ``event_type`` tag, in dictionary order."""
