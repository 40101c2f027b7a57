"""Snowplow tracker-protocol events mapped onto the data dictionary.

A raw record is one tracker-protocol event: a JSON object of string fields (one item of a
``tp2`` POST's ``payload_data``) or the query string of a ``GET /i`` pixel. Contexts come
as ``cx`` (base64url JSON) or ``co`` (plain JSON), a self-describing event as ``ue_px`` or
``ue_pr``; both encodings are read.

Events of the Snowplow media plugin (``iglu:com.snowplowanalytics.snowplow.media/*_event``)
are mapped with their ``media_player`` and media ``session`` entities: the view is the
media session (``mediaSessionId``), the playhead, rendition, volume and rate come from the
player entity. Every other event (page views, structured and other self-describing events)
is kept as a ``custom`` event named after it, in the browser session's view.

``event_id`` is derived from the tracker's ``eid``, so an event the tracker sends again
after a failed request maps to the same id and the copy is dropped; ``seq`` is the device
time ``dtm`` (ms) times :data:`~playpipe.sources.viewstate.SEQ_STRIDE` plus the position.

The media plugin has no first-frame event: ``play`` is the play request, buffering before
first frame is ``buffer_start``/``buffer_end``. The first frame is the first ``buffer_end``
after the first ``play``; when no buffering follows the ``play``, it is the ``play`` itself,
emitted (at the play's time) with the session's next event.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl

import msgspec

from playpipe.dictionary import Event
from playpipe.sources.envelope import Envelope
from playpipe.sources.rawctx import RawContext
from playpipe.sources.registry import MappingError
from playpipe.sources.values import as_bool, as_int, as_scalar, as_text, prune
from playpipe.sources.viewstate import ViewStates, usable_sent_at

SOURCE: Final = "snowplow"
MEDIA_EVENT: Final = "iglu:com.snowplowanalytics.snowplow.media/"
PLAYER_ENTITY: Final = "iglu:com.snowplowanalytics.snowplow/media_player/"
SESSION_ENTITY: Final = "iglu:com.snowplowanalytics.snowplow.media/session/"
AD_ENTITY: Final = "iglu:com.snowplowanalytics.snowplow.media/ad/"
AD_BREAK_ENTITY: Final = "iglu:com.snowplowanalytics.snowplow.media/ad_break/"

SIMPLE: Final = {
    "ready": "player_ready",
    "pause": "paused",
    "seek_start": "seek_start",
    "seek_end": "seek_end",
    "ping": "heartbeat",
    "quality_change": "rendition_change",
    "playback_rate_change": "rate_change",
    "volume_change": "volume_change",
    "ad_break_start": "ad_break_start",
    "ad_break_end": "ad_break_end",
    "ad_start": "ad_start",
    "ad_complete": "ad_end",
    "ad_skip": "ad_skip",
    "ad_click": "ad_click",
}
QUARTILES: Final = {"ad_first_quartile": 1, "ad_midpoint": 2, "ad_third_quartile": 3}
PLAIN_EVENTS: Final = {
    "pv": "page_view",
    "pp": "page_ping",
    "se": "structured",
    "tr": "transaction",
    "ti": "transaction_item",
}


@dataclass
class MediaView:
    """What the mapper remembers of one media session."""

    started: bool = False
    awaiting: tuple[str, int] | None = None
    """``(eid, dtm)`` of the first ``play`` while its first frame is not known yet."""
    buffering: bool = False
    ended: bool = False


@dataclass
class Decoded:
    """One tracker-protocol event with its JSON parts decoded."""

    fields: dict[str, str]
    event: dict[str, Any] | None
    """The self-describing event's ``{"schema", "data"}``, if any."""
    entities: list[dict[str, Any]]

    def entity(self, prefix: str) -> dict[str, Any]:
        for entity in self.entities:
            schema = entity.get("schema")
            if isinstance(schema, str) and schema.startswith(prefix):
                data = entity.get("data")
                return data if isinstance(data, dict) else {}
        return {}

    @property
    def media_name(self) -> str | None:
        """``play`` for ``iglu:…snowplow.media/play_event/…``; None for other events."""
        schema = (self.event or {}).get("schema")
        if not isinstance(schema, str) or not schema.startswith(MEDIA_EVENT):
            return None
        name = schema[len(MEDIA_EVENT) :].partition("/")[0]
        return name.removesuffix("_event") or None

    @property
    def view_id(self) -> str | None:
        session = as_text(self.entity(SESSION_ENTITY).get("mediaSessionId"), 128)
        fields = self.fields
        return session or fields.get("sid") or fields.get("duid") or fields.get("eid")


def _json_part(fields: dict[str, str], plain: str, encoded: str) -> Any:
    text = fields.get(plain)
    where = plain
    try:
        if text is None and encoded in fields:
            where = encoded
            raw = fields[encoded].strip()
            text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8")
        return None if text is None else msgspec.json.decode(text)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise MappingError(f"{where} is not (base64url) JSON: {exc}", f"$.{where}") from None


def decode(value: bytes) -> Decoded:
    """A tracker-protocol event from a JSON object or a query string."""
    if value.lstrip()[:1] == b"{":
        try:
            obj = msgspec.json.decode(value)
        except (msgspec.DecodeError, RecursionError) as exc:
            raise MappingError(f"not a Snowplow event (malformed JSON): {exc}") from None
        if not isinstance(obj, dict):
            raise MappingError("a Snowplow event must be a JSON object")
        fields = {str(k): v if isinstance(v, str) else str(v) for k, v in obj.items()}
    else:
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MappingError(f"query string is not UTF-8: {exc}") from None
        fields = dict(parse_qsl(text.lstrip("?"), keep_blank_values=True))
    if not fields.get("e"):
        raise MappingError("not a Snowplow event: no event type (e)", "$.e")
    unstruct = _json_part(fields, "ue_pr", "ue_px")
    contexts = _json_part(fields, "co", "cx")
    event = unstruct.get("data") if isinstance(unstruct, dict) else None
    listed = contexts.get("data") if isinstance(contexts, dict) else None
    entities = [c for c in listed if isinstance(c, dict)] if isinstance(listed, list) else []
    return Decoded(fields, event if isinstance(event, dict) else None, entities)


class SnowplowFormat:
    """``snowplow``: tracker protocol v2 events, media plugin events mapped (v2 schemas)."""

    name = SOURCE

    def __init__(self, max_views: int = 50_000) -> None:
        self.views: ViewStates[MediaView] = ViewStates(MediaView, max_views)

    def map(self, value: bytes, headers: dict[str, bytes]) -> list[Event]:
        d = decode(value)
        ctx = RawContext.from_headers(headers)
        eid = d.fields.get("eid")
        view_id = d.view_id
        dtm = as_int(d.fields.get("dtm")) or as_int(d.fields.get("stm"))
        if not eid:
            raise MappingError("Snowplow event without an event id (eid)", "$.eid")
        if not view_id:
            raise MappingError("Snowplow event without a session or user id", "$.sid")
        if not dtm:
            raise MappingError("Snowplow event without a device time (dtm or stm)", "$.dtm")
        name = d.media_name
        planned: list[tuple[str, int, int, dict[str, Any]]] = []  # (eid, dtm, position, body)
        if name is None:
            planned.append((eid, dtm, 0, {"event_type": "custom", "name": _custom_name(d)}))
        else:
            view = self.views.get(view_id)
            planned += _first_frame(view, name, eid, dtm)
            planned += [(eid, dtm, i, body) for i, body in enumerate(_media(view, name, d))]
        sent_at = usable_sent_at(as_int(d.fields.get("stm")), ctx.received_at)
        envelope = Envelope(SOURCE, view_id, _envelope(d, view_id, ctx), ctx, sent_at)
        return [
            envelope.event({**body, "client_ts": ts}, ts, position, source_id)
            for source_id, ts, position, body in planned
        ]


def _first_frame(
    view: MediaView, name: str, eid: str, dtm: int
) -> list[tuple[str, int, int, dict[str, Any]]]:
    """The first frame of a ``play`` not followed by buffering, once the next event shows it."""
    if view.awaiting is None or name in ("buffer_start", "buffer_end") or view.buffering:
        return []
    play_eid, play_dtm = view.awaiting
    view.awaiting, view.started = None, True
    return [
        (play_eid, play_dtm, 1, {"event_type": "first_frame", "fluxdata": None}),
        (play_eid, play_dtm, 2, {"event_type": "playing", "fluxdata": None}),
    ]


def _media(view: MediaView, name: str, d: Decoded) -> list[dict[str, Any]]:
    if view.ended:
        return []  # pings and late events after the end: the view is over
    data = (d.event or {}).get("data")
    data = data if isinstance(data, dict) else {}
    if name == "play":
        if view.started:
            return [{"event_type": "playing"}]
        if view.awaiting is None:
            view.awaiting = (d.fields["eid"], as_int(d.fields.get("dtm")) or 0)
            return [{"event_type": "play_requested"}]
        return []
    if name == "buffer_start":
        view.buffering = True
        return [{"event_type": "rebuffer_start"}] if view.started else []
    if name == "buffer_end":
        view.buffering = False
        if view.started:
            return [{"event_type": "rebuffer_end"}]
        if view.awaiting is not None:
            view.awaiting, view.started = None, True
            return [{"event_type": "first_frame"}, {"event_type": "playing"}]
        return []
    if name == "end":
        view.ended = True
        return [{"event_type": "ended"}, {"event_type": "view_end", "reason": "ended"}]
    if name == "error":
        return [{"event_type": "error", "error": _error(data)}]
    if name == "percent_progress":
        value = as_int(data.get("percentProgress"))
        return [{"event_type": "milestone", "name": "content_percent", "value": value}]
    if name in QUARTILES:
        return [{"event_type": "ad_quartile", "ad": {"quartile": QUARTILES[name]}}]
    if name in SIMPLE:
        body: dict[str, Any] = {"event_type": SIMPLE[name]}
        if name == "quality_change":
            body["fluxdata"] = prune(
                {
                    **(_envelope_flux(d) or {}),
                    "rendition": as_text(data.get("newQuality")),
                    "bitrate_kbps": _per_1000(data.get("bitrate")),
                    "framerate": _number(data.get("framesPerSecond"), 1000),
                }
            )
        return [body]
    return [{"event_type": "custom", "name": f"snowplow_media_{name}"[:128]}]


def _error(data: dict[str, Any]) -> dict[str, Any]:
    error = prune(
        {
            "code": as_text(data.get("errorCode"), 128) or as_text(data.get("errorName"), 128),
            "severity": "fatal",
            "message": as_text(data.get("errorDescription"), 2048),
            "context": as_text(data.get("errorName"), 2048),
        }
    )
    assert error is not None
    error.setdefault("code", "unknown")
    return error


def _custom_name(d: Decoded) -> str:
    schema = (d.event or {}).get("schema")
    if isinstance(schema, str) and schema.startswith("iglu:"):
        vendor_name = schema[5:].rpartition("/jsonschema/")[0]
        return f"snowplow:{vendor_name}"[:128]
    kind = d.fields.get("e", "")
    return f"snowplow_{PLAIN_EVENTS.get(kind, kind)}"[:128]


def _envelope(d: Decoded, view_id: str, ctx: RawContext) -> dict[str, Any]:
    f = d.fields
    player = d.entity(PLAYER_ENTITY)
    session = d.entity(SESSION_ENTITY)
    ad = d.entity(AD_ENTITY)
    ad_break = d.entity(AD_BREAK_ENTITY)
    live = as_bool(player.get("livestream"))
    duration = _per_1000(player.get("duration"), scale=1000)
    base: dict[str, Any] = {
        "event_id": "-",
        "view_id": view_id[:128],
        "source": SOURCE,
        "viewer_id": as_text(f.get("uid"), 128) or as_text(f.get("duid"), 128),
        "session_id": as_text(f.get("sid"), 128),
        "property": ctx.property or as_text(f.get("aid"), 128),
        "player": prune(
            {
                "name": as_text(player.get("playerType")),
                "integration": "snowplow-media" if player or session else None,
                "integration_version": as_text(f.get("tv"), 64),
            }
        ),
        "content": prune(
            {
                "title": as_text(player.get("label")),
                "duration_ms": int(duration) if duration and not live else None,
                "stream_type": "live" if live else "vod" if live is False or duration else None,
            }
        ),
        "fluxdata": _envelope_flux(d),
        "ad": _ad(ad, ad_break),
        "custom": _custom(f, session),
    }
    return {k: v for k, v in base.items() if v is not None}


def _envelope_flux(d: Decoded) -> dict[str, Any] | None:
    player = d.entity(PLAYER_ENTITY)
    return prune(
        {
            "playhead_ms": _ms(player.get("currentTime")),
            "rendition": as_text(player.get("quality")),
            "playback_rate": _number(player.get("playbackRate"), 16),
            "volume": _volume(player.get("volume")),
            "muted": as_bool(player.get("muted")),
        }
    )


def _ad(ad: dict[str, Any], ad_break: dict[str, Any]) -> dict[str, Any] | None:
    return prune(
        {
            "ad_id": as_text(ad.get("adId"), 128),
            "creative_id": as_text(ad.get("creativeId"), 128),
            "duration_ms": _ms(ad.get("duration")),
            "skippable": as_bool(ad.get("skippable")),
            "break_id": as_text(ad_break.get("breakId"), 128),
        }
    )


SESSION_STATS: Final = (
    "timePlayed",
    "timePlayedMuted",
    "timePaused",
    "timeBuffering",
    "timeSpentAds",
    "contentWatched",
    "avgPlaybackRate",
    "adsClicked",
    "adsSkipped",
    "ads",
    "adBreaks",
)


def _custom(f: dict[str, str], session: dict[str, Any]) -> dict[str, Any] | None:
    custom: dict[str, Any] = {}
    for key in ("se_ca", "se_ac", "se_la", "se_pr", "se_va", "url"):
        text = as_text(f.get(key))
        if text:
            custom[f"snowplow_{key}"] = text
    for key in SESSION_STATS:
        value = as_scalar(session.get(key))
        if value is not None:
            custom[f"snowplow_session_{key}"] = value
    return custom or None


def _number(value: object, limit: float) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= limit:
        return float(value)
    return None


def _per_1000(value: object, scale: float = 0.001) -> float | None:
    number = _number(value, 1e12)
    return number * scale if number else None


def _ms(seconds: object) -> int | None:
    number = _number(seconds, 1e10)
    return round(number * 1000) if number is not None else None


def _volume(percent: object) -> float | None:
    number = _number(percent, 100)
    return number / 100 if number is not None else None
