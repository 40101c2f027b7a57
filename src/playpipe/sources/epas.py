"""EPAS (Eyevinn Player Analytics Specification) events mapped onto the data dictionary.

A raw record is one EPAS event ``{"event", "sessionId", "timestamp", "playhead",
"duration", "payload"?}``, as the EPAS web SDK posts them (one request per event, with the
``X-EPAS-Event`` and ``X-EPAS-Version`` headers). ``sessionId`` is the view.

EPAS has no sequence number: ``seq`` is the event's ``timestamp`` (ms) times
:data:`~playpipe.sources.viewstate.SEQ_STRIDE` plus the event's position, and ``event_id``
is derived from (session, event, timestamp, position), so a copy maps to the same ids.

**Playhead unit.** The specification says ``playhead`` and ``duration`` are milliseconds;
the released web SDKs (0.1.x to 0.2.0) send ``HTMLMediaElement.currentTime`` and
``duration``, in seconds, and the specification package's own TypeScript types say seconds.
The unit is decided per session, the first rule that applies winning, and then kept:

1. ``?playhead_unit=s`` or ``ms`` on the collector URL;
2. the ``X-EPAS-Version`` request header: only the web SDK sends it → seconds;
3. a playhead or duration with a fractional part → seconds;
4. a duration above 0 and under 1000 → seconds (a spec client's content of under a second
   is implausible);
5. otherwise milliseconds, as the specification says.

The mapper keeps per session (bounded) the unit, the metadata merged from ``init`` and
``metadata`` payloads, and the state needed to tell first frame from resume and a rebuffer
from startup buffering. Fields mapped, kept and dropped: ``docs/sources.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qs

import msgspec

from playpipe.dictionary import Event, error_field, error_reason
from playpipe.sources.envelope import Envelope
from playpipe.sources.rawctx import RawContext
from playpipe.sources.registry import MappingError
from playpipe.sources.values import (
    as_bool,
    as_device_type,
    as_int,
    as_scalar,
    as_text,
    prune,
)
from playpipe.sources.viewstate import ViewStates, usable_sent_at

SOURCE: Final = "epas"
SIMPLE: Final = {
    "init": "view_start",
    "loading": "play_requested",
    "paused": "paused",
    "seeking": "seek_start",
    "seeked": "seek_end",
    "heartbeat": "heartbeat",
}
VIEW_END_REASONS: Final = frozenset({"ended", "aborted", "error"})


@dataclass
class EpasSession:
    """What the mapper remembers of one session."""

    unit: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    started: bool = False
    buffering: bool = False
    stopped: bool = False


class _Event(msgspec.Struct):
    event: str
    sessionId: str
    timestamp: int
    playhead: float | None = None
    duration: float | None = None
    payload: Any = None


_decoder = msgspec.json.Decoder(_Event)


def decode(value: bytes) -> _Event:
    """One EPAS event; ``MappingError`` naming the field when it is not one."""
    try:
        event = _decoder.decode(value)
    except msgspec.ValidationError as exc:
        raise MappingError(f"not an EPAS event: {error_reason(exc)}", error_field(exc)) from None
    except (msgspec.DecodeError, RecursionError) as exc:
        raise MappingError(f"not an EPAS event (malformed JSON): {exc}") from None
    if not event.event or len(event.event) > 64:
        raise MappingError("EPAS event name must be 1 to 64 characters", "$.event")
    if not event.sessionId or len(event.sessionId) > 128:
        raise MappingError("EPAS sessionId must be 1 to 128 characters", "$.sessionId")
    if event.timestamp <= 0:
        raise MappingError("EPAS timestamp must be a positive epoch in ms", "$.timestamp")
    return event


class EpasFormat:
    """``epas``: EPAS events (specification 0.2/0.3, web SDK 0.1.x to 0.2.0)."""

    name = SOURCE

    def __init__(self, max_views: int = 50_000) -> None:
        self.sessions: ViewStates[EpasSession] = ViewStates(EpasSession, max_views)

    def map(self, value: bytes, headers: dict[str, bytes]) -> list[Event]:
        e = decode(value)
        ctx = RawContext.from_headers(headers)
        session = self.sessions.get(e.sessionId)
        if session.unit is None:
            session.unit = _unit(e, ctx)
        payload = e.payload if isinstance(e.payload, dict) else {}
        if e.event in ("init", "metadata"):
            session.metadata.update(payload)
        bodies = _events(e, payload, session)
        if not bodies:
            return []
        sent_at = usable_sent_at(e.timestamp, ctx.received_at)
        envelope = Envelope(SOURCE, e.sessionId, _envelope(e, session, ctx), ctx, sent_at)
        return [
            envelope.event(body, e.timestamp, position, e.event, e.timestamp)
            for position, body in enumerate(bodies)
        ]


def _unit(e: _Event, ctx: RawContext) -> str | None:
    asked = parse_qs(ctx.query).get("playhead_unit", [""])[0]
    if asked in ("s", "ms"):
        return asked
    if "x-epas-version" in ctx.http:
        return "s"
    values = [v for v in (e.playhead, e.duration) if v is not None and v >= 0]
    if any(v != int(v) for v in values):
        return "s"
    if e.duration is not None and 0 < e.duration < 1000:
        return "s"
    if e.duration is not None and e.duration >= 1000:
        return "ms"
    return None  # no evidence yet: decide on a later event, milliseconds meanwhile


def _ms(value: float | None, unit: str | None) -> int | None:
    if value is None or value < 0 or value != value or value > 2**53:
        return None
    return round(value * 1000) if unit == "s" else int(value)


def _events(e: _Event, payload: dict[str, Any], s: EpasSession) -> list[dict[str, Any]]:
    name = e.event
    if s.stopped and name != "metadata":
        return []  # the view is over (the SDK reports stopped twice when asked to stop)
    if name in ("playing", "resume"):
        first, s.started, s.buffering = not s.started, True, False
        playing = {"event_type": "playing"}
        return [{"event_type": "first_frame"}, playing] if first else [playing]
    if name == "buffering":
        if not s.started:
            return [{"event_type": "custom", "name": "epas_buffering"}]
        s.buffering = True
        return [{"event_type": "rebuffer_start"}]
    if name == "buffered":
        was, s.buffering = s.buffering, False
        return [
            {"event_type": "rebuffer_end"}
            if was
            else {"event_type": "custom", "name": "epas_buffered"}
        ]
    if name == "bitrate_changed":
        return [{"event_type": "rendition_change"}]
    if name in ("error", "warning"):
        return [{"event_type": "error", "error": _error(payload, name)}]
    if name == "stopped":
        s.stopped = True
        reason = payload.get("reason")
        reason = reason if reason in VIEW_END_REASONS else "aborted"
        end = {"event_type": "view_end", "reason": reason}
        return [{"event_type": "ended"}, end] if reason == "ended" else [end]
    if name == "metadata":
        return []
    if name in SIMPLE:
        return [{"event_type": SIMPLE[name]}]
    return [{"event_type": "custom", "name": f"epas_{name}"}]


def _error(payload: dict[str, Any], name: str) -> dict[str, Any]:
    error = prune(
        {
            "code": as_text(payload.get("code"), 128) or "unknown",
            "severity": "fatal" if name == "error" else "warning",
            "message": as_text(payload.get("message"), 2048),
            "context": as_text(payload.get("category"), 2048),
        }
    )
    assert error is not None
    return error


def _envelope(e: _Event, s: EpasSession, ctx: RawContext) -> dict[str, Any]:
    meta = s.metadata
    payload = e.payload if isinstance(e.payload, dict) else {}
    live = as_bool(meta.get("live"))
    duration = _ms(e.duration, s.unit)
    bitrate = _bitrate(payload.get("bitrate")) if e.event == "bitrate_changed" else None
    base: dict[str, Any] = {
        "event_id": "-",
        "client_ts": e.timestamp,
        "view_id": e.sessionId,
        "source": SOURCE,
        "viewer_id": as_text(meta.get("userId"), 128),
        "content": prune(
            {
                "id": as_text(meta.get("contentId"), 128),
                "title": as_text(meta.get("contentTitle")),
                "url": as_text(meta.get("contentUrl"), 2048),
                "stream_type": "live" if live else "vod" if live is False else None,
                "duration_ms": duration if duration and not live else None,
            }
        ),
        "device": prune(
            {
                "model": as_text(meta.get("deviceModel")),
                "type": as_device_type(meta.get("deviceType")),
            }
        ),
        "fluxdata": prune(
            {
                "playhead_ms": _ms(e.playhead, s.unit),
                "bitrate_kbps": bitrate,
                "width_px": as_int(payload.get("width")) if bitrate is not None else None,
                "height_px": as_int(payload.get("height")) if bitrate is not None else None,
            }
        ),
        "custom": prune(
            {
                "epas_device_id": as_scalar(meta.get("deviceId")),
                "epas_drm_type": as_scalar(meta.get("drmType")),
                "epas_device_type": as_scalar(meta.get("deviceType")),
            }
        ),
    }
    if ctx.property:
        base["property"] = ctx.property
    return {k: v for k, v in base.items() if v is not None}


def _bitrate(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1e9:
        return float(value)
    return None
