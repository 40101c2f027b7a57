"""The Mux beacon format (what ``mux-embed`` sends) mapped onto the data dictionary.

A raw record is one Mux batch ``{"metadata": {"transmission_timestamp": …}, "events": […]}``;
the collector's framing (``playpipe.sources.mux_routes``) cuts a posted batch into one
record per event, keyed by the view. Each event carries abbreviated keys
(:mod:`playpipe.sources.muxkeys`) and, within a view, only the fields that changed since
the previous beacon plus a few always-sent ones (view id, sequence numbers, playhead,
viewer time, event name). This mapper keeps each view's full state (bounded, least recently
used first out), merges every event's delta into it and maps the result.

``view_id`` is Mux's ``view_id``; ``seq`` and ``event_id`` come from its
``view_sequence_number``, so a batch sent twice (mux-embed re-sends a batch whose answer it
did not get, and flushes with ``sendBeacon`` at unload) maps to the same ids and the copy
is dropped, here and by the standardizer. Every field mapped, kept or dropped is listed in
``docs/sources.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from playpipe.dictionary import Event
from playpipe.sources.envelope import Envelope
from playpipe.sources.muxkeys import expand_key
from playpipe.sources.rawctx import RawContext
from playpipe.sources.registry import MappingError
from playpipe.sources.values import (
    as_bool,
    as_device_type,
    as_int,
    as_kbps,
    as_px,
    as_scalar,
    as_text,
    prune,
)
from playpipe.sources.viewstate import ViewStates, usable_sent_at

SOURCE: Final = "mux"
MAX_SEEN: Final = 4096

SIMPLE: Final = {
    "viewstart": "view_start",
    "playerready": "player_ready",
    "pause": "paused",
    "seeking": "seek_start",
    "seeked": "seek_end",
    "rebufferstart": "rebuffer_start",
    "rebufferend": "rebuffer_end",
    "renditionchange": "rendition_change",
    "ended": "ended",
    "hb": "heartbeat",
    "adbreakstart": "ad_break_start",
    "adbreakend": "ad_break_end",
    "adplaying": "ad_start",
    "adended": "ad_end",
    "adskipped": "ad_skip",
    "adclicked": "ad_click",
    "aderror": "ad_error",
}
QUARTILES: Final = {"adfirstquartile": 1, "admidpoint": 2, "adthirdquartile": 3}
SEGMENT_KINDS: Final = {
    "manifest": "manifest",
    "media": "video",
    "video": "video",
    "audio": "audio",
    "video_init": "init",
    "audio_init": "init",
    "init": "init",
    "subtitle": "subtitle",
}
CUSTOM_FIELDS: Final = (
    "player_name",
    "experiment_name",
    "sub_property_id",
    "page_type",
    "view_session_id",
    "video_variant_id",
    "video_variant_name",
    "video_cdn",
    "viewer_connection_type",
)
"""Mux dimensions without a dictionary field, kept in ``custom`` as ``mux_<field>``."""


@dataclass
class MuxView:
    """What the mapper remembers of one view."""

    fields: dict[str, Any] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)
    started: bool = False
    ended: bool = False
    fatal: bool = False


class _Batch(msgspec.Struct):
    events: list[Any]
    metadata: dict[str, Any] | None = None


_batch = msgspec.json.Decoder(_Batch)


def decode_batch(value: bytes) -> _Batch:
    """The batch envelope; ``MappingError`` when ``value`` is not one."""
    try:
        return _batch.decode(value)
    except msgspec.ValidationError as exc:
        raise MappingError(f"not a Mux batch: {exc}", "$.events") from None
    except (msgspec.DecodeError, RecursionError) as exc:
        raise MappingError(f"not a Mux batch (malformed JSON): {exc}") from None


def expand(event: dict[str, Any]) -> dict[str, Any]:
    """Abbreviated keys expanded; a key that is not a Mux key is kept as ``unknown.<key>``."""
    out: dict[str, Any] = {}
    for key, value in event.items():
        if not isinstance(key, str):
            continue
        name = expand_key(key)
        out[name if name is not None else f"unknown.{key}"] = value
    return out


class MuxFormat:
    """``mux``: Mux beacon batches (``mux-embed`` 4.x/5.x)."""

    name = SOURCE

    def __init__(self, max_views: int = 50_000) -> None:
        self.views: ViewStates[MuxView] = ViewStates(MuxView, max_views)

    def map(self, value: bytes, headers: dict[str, bytes]) -> list[Event]:
        batch = decode_batch(value)
        ctx = RawContext.from_headers(headers)
        sent = as_int((batch.metadata or {}).get("transmission_timestamp"))
        sent_at = usable_sent_at(sent, ctx.received_at)
        out: list[Event] = []
        for index, raw in enumerate(batch.events):
            if not isinstance(raw, dict):
                raise MappingError("a Mux event must be a JSON object", f"$.events[{index}]")
            out += self._map_one(expand(raw), index, ctx, sent_at)
        return out

    def _map_one(
        self, delta: dict[str, Any], index: int, ctx: RawContext, sent_at: int | None
    ) -> list[Event]:
        where = f"$.events[{index}]"
        view_id = as_text(delta.get("view_id"), 128)
        name = as_text(delta.get("event"), 128)
        order = as_int(delta.get("view_sequence_number"))
        if order is None:
            order = as_int(delta.get("player_sequence_number"))
        if not view_id or view_id == "-1":
            raise MappingError("Mux event without a view id (xid)", f"{where}.xid")
        if not name:
            raise MappingError("Mux event without an event name (e)", f"{where}.e")
        if order is None:
            raise MappingError("Mux event without a sequence number (xsqno)", f"{where}.xsqno")
        if as_int(delta.get("viewer_time")) is None:
            raise MappingError("Mux event without a viewer time (uti)", f"{where}.uti")
        view = self.views.get(view_id)
        if order in view.seen:
            return []
        if len(view.seen) >= MAX_SEEN:
            view.seen.discard(min(view.seen))
        view.seen.add(order)
        if name == "viewstart":
            view.fields = {}
        view.fields.update(delta)
        state = view.fields
        dicts = self._events(name, state, view)
        envelope = Envelope(SOURCE, view_id, _envelope(state, view_id, ctx), ctx, sent_at, where)
        if name == "viewend":
            view.fields = {}  # the view is over; its seen sequence numbers still drop copies
        return [envelope.event(body, order, position, order) for position, body in enumerate(dicts)]

    def _events(self, name: str, s: dict[str, Any], view: MuxView) -> list[dict[str, Any]]:
        if name == "play":
            return [] if view.started else [{"event_type": "play_requested"}]
        if name == "playing":
            first = not view.started
            view.started = True
            playing = {"event_type": "playing"}
            return [{"event_type": "first_frame"}, playing] if first else [playing]
        if name == "error":
            error = _error(s)
            if error["severity"] == "fatal" and not error["business"]:
                view.fatal = True
            return [{"event_type": "error", "error": error}]
        if name == "ended":
            view.ended = True
        if name == "viewend":
            reason = "error" if view.fatal else "ended" if view.ended else "aborted"
            return [{"event_type": "view_end", "reason": reason}]
        if name in QUARTILES:
            return [{"event_type": "ad_quartile", "ad": {"quartile": QUARTILES[name]}}]
        if name in ("requestcompleted", "requestfailed"):
            return [{"event_type": "segment_response", "segment": _segment(s, name)}]
        if name == "cdnchange" and as_text(s.get("video_cdn"), 128):
            return [{"event_type": "cdn_change", "cdn": as_text(s.get("video_cdn"), 128)}]
        if name in SIMPLE:
            return [{"event_type": SIMPLE[name]}]
        return [{"event_type": "custom", "name": f"mux_{name}"}]


def _envelope(s: dict[str, Any], view_id: str, ctx: RawContext) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": "-",
        "client_ts": as_int(s.get("viewer_time")),
        "view_id": view_id,
        "source": SOURCE,
        "viewer_id": as_text(s.get("viewer_user_id"), 128) or as_text(s.get("mux_viewer_id"), 128),
        "session_id": as_text(s.get("session_id"), 128),
        "property": ctx.property or as_text(s.get("env_key"), 128),
        "player": prune(
            {
                "name": as_text(s.get("player_software_name") or s.get("player_software")),
                "version": as_text(s.get("player_software_version"), 64),
                "integration": as_text(s.get("player_mux_plugin_name")),
                "integration_version": as_text(s.get("player_mux_plugin_version"), 64),
                "sdk_version": as_text(s.get("mux_embed_version"), 64),
                "width_px": as_px(s.get("player_width")),
                "height_px": as_px(s.get("player_height")),
                "autoplay": as_bool(s.get("player_autoplay_on")),
                "preload": as_text(s.get("player_preload_on")),
                "language": as_text(s.get("player_language_code"), 35) or None,
            }
        ),
        "content": _content(s),
        "device": prune(
            {
                "type": as_device_type(s.get("viewer_device_category")),
                "os": as_text(s.get("viewer_os_family")),
                "os_version": as_text(s.get("viewer_os_version"), 64),
                "manufacturer": as_text(s.get("viewer_device_manufacturer")),
                "model": as_text(s.get("viewer_device_model") or s.get("viewer_device_name")),
            }
        ),
        "fluxdata": prune(
            {
                "playhead_ms": as_int(s.get("player_playhead_time")),
                "bitrate_kbps": as_kbps(s.get("video_source_bitrate")),
                "width_px": as_px(s.get("video_source_width")),
                "height_px": as_px(s.get("video_source_height")),
                "codec": as_text(s.get("video_source_codec")),
                "dropped_frames": as_int(s.get("view_dropped_frame_count")),
            }
        ),
        "custom": _custom(s),
    }
    return {k: v for k, v in base.items() if v is not None}


def _content(s: dict[str, Any]) -> dict[str, Any] | None:
    stream = as_text(s.get("video_stream_type"))
    live = as_bool(s.get("video_source_is_live"))
    stream_type = "live" if stream == "live" or live else "vod" if stream or live is False else None
    return prune(
        {
            "id": as_text(s.get("video_id"), 128),
            "title": as_text(s.get("video_title")),
            "series": as_text(s.get("video_series")),
            "category": as_text(s.get("video_content_type")),
            "duration_ms": as_int(s.get("video_duration"))
            or as_int(s.get("video_source_duration")),
            "stream_type": stream_type,
            "url": as_text(s.get("video_source_url"), 2048),
            "encoding_variant": as_text(s.get("video_encoding_variant")),
            "language": as_text(s.get("video_language_code"), 35) or None,
            "producer": as_text(s.get("video_producer")),
        }
    )


def _custom(s: dict[str, Any]) -> dict[str, Any] | None:
    custom: dict[str, Any] = {}
    for number in range(1, 11):
        value = as_scalar(s.get(f"custom_{number}"))
        if value is not None:
            custom[f"custom_{number}"] = value
    for name in CUSTOM_FIELDS:
        value = as_scalar(s.get(name))
        if value is not None and value != "":
            custom[f"mux_{name}"] = value
    return custom or None


def _error(s: dict[str, Any]) -> dict[str, Any]:
    severity = "warning" if s.get("player_error_severity") == "warning" else "fatal"
    return prune(
        {
            "code": as_text(s.get("player_error_code"), 128) or "unknown",
            "severity": severity,
            "message": as_text(s.get("player_error_message"), 2048),
            "context": as_text(s.get("player_error_context"), 2048),
            "business": as_bool(s.get("player_error_business_exception")) or False,
        }
    ) or {"code": "unknown", "severity": severity}


def _segment(s: dict[str, Any], name: str) -> dict[str, Any]:
    start = as_int(s.get("request_start"))
    first = as_int(s.get("request_response_start"))
    last = as_int(s.get("request_response_end"))
    kind = SEGMENT_KINDS.get(str(s.get("request_type")), "other")
    status = as_int(s.get("request_error_code")) if name == "requestfailed" else 200
    return prune(
        {
            "kind": kind,
            "url": as_text(s.get("request_url"), 2048),
            "status": status if status is not None and status <= 999 else None,
            "bytes": as_int(s.get("request_bytes_loaded")),
            "duration_ms": last - start if start is not None and last is not None else None,
            "ttfb_ms": first - start if start is not None and first is not None else None,
            "bitrate_kbps": as_kbps(s.get("request_labeled_bitrate")),
        }
    ) or {"kind": kind}
