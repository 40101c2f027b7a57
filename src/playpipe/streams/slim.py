"""Dictionary events as the aggregation reads them: only the fields it uses, same names.

The events topic holds only events the standardizer decoded and validated against the
dictionary. Decoding each one again into the whole dictionary tree (every node, every
constraint) was the aggregator's largest single cost per event; :func:`decode` builds one
small struct per event instead and skips the other keys. A struct per event type keeps
dispatching on the class (``type(e)``), so the aggregation takes dictionary events and
these alike (:data:`AnyEvent`). The fields kept are typed as in the dictionary, so they
decode to equal values (the ``Literal`` ones to the same shared strings).

Saved in a view's checkpoint, a buffered slim event is written with its fields only and
read back as a dictionary event of its type: every field kept exists there.
"""

from __future__ import annotations

from typing import Literal, TypeAlias, Union, cast

import msgspec

from playpipe.dictionary import EVENT_CLASSES, Event

# The dictionary's own bounded types for what the aggregation packs into fixed-width state:
# a record written to `events` by something else than the standardizer that breaks them is
# refused at decode (counted, skipped) instead of failing a checkpoint later.
from playpipe.dictionary._meta import Count, EpochMillis, RenditionKbps

__all__ = ["AnyEvent", "SlimEvent", "SlimViewEnd", "decode", "twin"]


class _Node(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    pass


class _Player(_Node):
    name: str | None = None
    version: str | None = None


class _Content(_Node):
    id: str | None = None
    stream_type: Literal["vod", "live"] | None = None


class _Device(_Node):
    type: Literal["desktop", "mobile", "tablet", "tv", "console", "other"] | None = None
    os: str | None = None
    browser: str | None = None


class _Geo(_Node):
    country: str | None = None
    region: str | None = None


class _Network(_Node):
    asn: int | None = None
    isp: str | None = None
    cdn: str | None = None


class _Error(_Node):
    code: str
    severity: Literal["fatal", "warning"]
    message: str | None = None
    business: bool = False


class _Fluxdata(_Node):
    bitrate_kbps: RenditionKbps | None = None


class SlimEvent(
    msgspec.Struct,
    kw_only=True,
    omit_defaults=True,
    tag_field="event_type",
    tag="slim",
    gc=False,
):
    """The envelope fields the aggregation reads (``event_type`` is the class)."""

    event_id: str
    seq: Count
    client_ts: EpochMillis
    view_id: str
    viewer_id: str | None = None
    property: str | None = None
    event_ts: EpochMillis | None = None
    player: _Player | None = None
    content: _Content | None = None
    device: _Device | None = None
    geo: _Geo | None = None
    network: _Network | None = None
    error: _Error | None = None
    custom: dict[str, str | int | float | bool] | None = None
    fluxdata: _Fluxdata | None = None


class SlimViewEnd(SlimEvent, tag="view_end"):
    """``view_end`` and its reason."""

    reason: Literal["ended", "aborted", "error", "timeout"]


AnyEvent: TypeAlias = Event | SlimEvent
"""What the aggregation takes: a dictionary event or its slim twin."""


def _tag(cls: type) -> str:
    return str(cls.__struct_config__.tag)  # type: ignore[attr-defined]


_TWINS: dict[type, type[SlimEvent]] = {}
for _cls in EVENT_CLASSES:
    if _tag(_cls) == "view_end":
        _TWINS[_cls] = SlimViewEnd
    else:
        _TWINS[_cls] = cast(
            type[SlimEvent],
            msgspec.defstruct(f"Slim{_cls.__name__}", [], bases=(SlimEvent,), tag=_tag(_cls)),
        )

_decoder: msgspec.json.Decoder[SlimEvent] = msgspec.json.Decoder(
    Union[tuple(_TWINS.values())]  # noqa: UP007
)


def twin(cls: type) -> type[SlimEvent]:
    """The slim class of dictionary event class ``cls``."""
    return _TWINS[cls]


def decode(data: bytes) -> SlimEvent:
    """The slim event of one dictionary event's JSON (``msgspec.DecodeError`` if not one)."""
    return _decoder.decode(data)
