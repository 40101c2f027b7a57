"""CMCD v2 (CTA-5004-B) mapped onto the data dictionary.

Two formats, both fed by the collector routes of ``playpipe.sources.cmcd_routes``:

* ``cmcd``: one event-mode report per raw record (``e`` = event type, ``ts``, ``sn``,
  ``sid``, ``sta``…), as ``application/cmcd`` text or a JSON object;
* ``cmcd_request``: one request-mode report (the ``CMCD=`` query argument and/or the
  ``CMCD-*`` headers of a media request) forwarded by a proxy or a CDN log shipper.

``sid`` is the view. ``event_id`` is derived from (``sid``, mode, ``sn``, position) so a
report delivered twice maps to the same ids and the standardizer drops the copy; ``seq`` is
``4 * sn + position``, so events keep the player's order. Play states (``sta``) become the
dictionary's state events by the transition from the view's previous state, which this
mapper remembers per view (bounded, least recently used first out): see ``docs/sources.md``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs, unquote, urlsplit

import msgspec

from playpipe.dictionary import Event, ValidationError, convert_event, error_reason
from playpipe.sources.cmcd_parse import (
    CmcdError,
    Report,
    from_json,
    parse_report,
    typed_report,
)
from playpipe.sources.rawctx import RawContext
from playpipe.sources.registry import MappingError
from playpipe.sources.values import MAX_TEXT
from playpipe.sources.viewstate import SEQ_STRIDE, ViewStates

SOURCE: Final = "cmcd"
MAX_VIEWS: Final = 200_000
"""Views whose play state is remembered (least recently used forgotten first)."""

TERMINAL: Final = frozenset({"e", "f", "q"})
"""Play states after which a view is over (ended, fatal error, quit)."""

OBJECT_KINDS: Final = {
    "v": "video",
    "av": "video",
    "a": "audio",
    "m": "manifest",
    "i": "init",
    "tt": "subtitle",
    "c": "subtitle",
    "k": "other",
    "o": "other",
}
STREAM_TYPES: Final = {"v": "vod", "l": "live", "ll": "live"}

CUSTOM_KEYS: Final = (
    "ab", "bg", "bs", "bsa", "bsd", "bsda", "cs", "d", "dl", "lab", "lb", "ltc", "msd",
    "nor", "nr", "pb", "rtp", "sf", "st", "su", "tab", "tb", "tbl", "tpb", "ttfbb", "nrr",
)  # fmt: skip
"""Spec keys without a dictionary field, kept in ``custom`` as ``cmcd_<key>``."""

MAX_CUSTOM: Final = 50

SIMPLE_EVENTS: Final = {
    "as": "ad_start",
    "ae": "ad_end",
    "abs": "ad_break_start",
    "abe": "ad_break_end",
    "sk": "ad_skip",
}
CUSTOM_EVENTS: Final = {
    "c": "content_change",
    "b": "backgrounded",
    "pe": "player_expand",
    "pc": "player_collapse",
}


@dataclass
class ViewMemory:
    """What the mapper remembers of one view: its play state and whether it started."""

    state: str | None = None
    started: bool = False
    over: bool = False
    bitrate: float | None = None
    state_sn: int = -1
    """``sn`` of the report that set ``state``: an older state report arriving late (a
    retried one) must not move the view back."""


# --- reading a record -----------------------------------------------------------------------


def read_event_report(value: bytes) -> Report:
    """An event-mode report: a line of CMCD text, or a JSON object."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MappingError(f"not UTF-8 text (byte {exc.start})") from None
    try:
        if text.lstrip().startswith("{"):
            try:
                members = from_json(msgspec.json.decode(text))
            except msgspec.DecodeError as exc:
                raise MappingError(f"not a JSON CMCD report: {exc}") from None
        else:
            members = parse_report(text)
        return typed_report(members)
    except CmcdError as exc:
        raise MappingError(exc.reason, _field(exc.key)) from None


def read_request_report(value: bytes, ctx: RawContext) -> Report:
    """A request-mode report: ``CMCD=`` in a query string or URL, headers, or bare text."""
    text = value.decode("utf-8", "replace").strip()
    parts: list[str] = []
    if text:
        query = urlsplit(text).query if "://" in text else text
        if "CMCD=" in query:
            parts.extend(parse_qs(query.lstrip("?")).get("CMCD", []))
        elif "=" in text and "://" not in text:
            parts.append(unquote(text) if "%" in text else text)
    parts.extend(ctx.http[h] for h in sorted(ctx.http) if h.startswith("cmcd-") and ctx.http[h])
    data = ",".join(p.strip().strip(",") for p in parts if p.strip())
    if not data:
        raise MappingError("no CMCD data in the forwarded request (CMCD= or CMCD-* headers)")
    try:
        return typed_report(parse_report(data))
    except CmcdError as exc:
        raise MappingError(exc.reason, _field(exc.key)) from None


def _field(key: str) -> str:
    return "$" if key == "$" else f"$.{key}"


# --- building events ------------------------------------------------------------------------


def _video_item(report: Report, key: str) -> Any:
    """The value of a list key for the video object (``;v`` or ``;av`` parameter), or the
    first value."""
    values = report.values.get(key)
    if not isinstance(values, list):
        return values
    for value, params in values:
        if params.get("v") is True or params.get("av") is True:
            return value
    return values[0][0] if values else None


def _text(value: object) -> str:
    if isinstance(value, list):
        value = " ".join(str(v[0]) if isinstance(v, tuple) else str(v) for v in value)
    return str(value)[:MAX_TEXT]


def _shown_bitrate(report: Report) -> Any:
    """The bitrate on screen: ``pb`` (playhead bitrate) when sent, else ``br``; none on
    response reports, whose ``br`` is the downloaded object's."""
    if report.values.get("e") == "rr":
        return None
    shown = _video_item(report, "pb")
    return shown if shown is not None else _video_item(report, "br")


def _custom(report: Report) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for key in CUSTOM_KEYS:
        if key in report.values:
            value = report.values[key]
            if isinstance(value, list):
                value = value[0][0] if len(value) == 1 else _text(value)
            out[f"cmcd_{key}"] = value[:MAX_TEXT] if isinstance(value, str) else value
    for key, value in report.unknown.items():
        if len(out) >= MAX_CUSTOM:
            break
        if isinstance(value, bool | int | float):
            out[key[:64]] = value
        else:
            out[key[:64]] = _text(value)
    return out or None


def _fluxdata(report: Report) -> dict[str, Any] | None:
    flux: dict[str, Any] = {}
    pairs = (
        ("playhead_ms", report.values.get("pt")),
        ("bitrate_kbps", _shown_bitrate(report)),
        ("buffer_ms", _video_item(report, "bl")),
        ("throughput_kbps", _video_item(report, "mtp")),
        ("dropped_frames", report.values.get("dfa")),
        ("playback_rate", report.values.get("pr")),
    )
    for name, value in pairs:
        if value is not None:
            flux[name] = value
    return flux or None


def _envelope(report: Report, ctx: RawContext, mode: str, raw: bytes) -> dict[str, Any]:
    values = report.values
    sid = values.get("sid")
    if not sid:
        raise MappingError('sid is required: the session id names the view (sid="…")', "$.sid")
    ts = values.get("ts")
    if ts is None:
        if mode == "e":
            raise MappingError("ts is required on every event-mode report", "$.ts")
        ts = ctx.received_at
    base: dict[str, Any] = {"view_id": sid, "client_ts": ts, "source": SOURCE}
    sn = values.get("sn")
    if sn is not None:
        base["_id"] = f"{sid}\n{mode}\n{sn}"
    else:  # CMCD v1 has no sequence number: the report itself and its time name it
        base["_id"] = hashlib.sha1(raw + f"\n{ts}".encode()).hexdigest()
    base["_seq"] = sn * SEQ_STRIDE if sn is not None else ts * SEQ_STRIDE
    content: dict[str, Any] = {}
    if values.get("cid"):
        content["id"] = values["cid"]
    if values.get("st") in STREAM_TYPES:
        content["stream_type"] = STREAM_TYPES[values["st"]]
    if content:
        base["content"] = content
    if values.get("cdn"):
        base["network"] = {"cdn": values["cdn"][:MAX_TEXT]}
    flux = _fluxdata(report)
    if flux:
        base["fluxdata"] = flux
    custom = _custom(report)
    if custom:
        base["custom"] = custom
    return base


def _error_node(report: Report, fatal: bool) -> dict[str, Any]:
    codes = [str(v) for v, _ in report.values.get("ec", [])]
    return {
        "code": (",".join(codes) or ("cmcd_fatal_error" if fatal else "cmcd_error"))[:128],
        "severity": "fatal" if fatal else "warning",
    }


def _fatal(memory: ViewMemory, report: Report) -> list[dict[str, Any]]:
    memory.over = True
    memory.state = "f"
    return [
        {"event_type": "error", "error": _error_node(report, True)},
        {"event_type": "view_end", "reason": "error"},
    ]


def _state_events(memory: ViewMemory, sta: str, report: Report) -> list[dict[str, Any]]:
    """Dictionary events for a play-state report, from the view's previous state."""
    prev, started = memory.state, memory.started
    if memory.over:
        return []
    sn = report.values.get("sn")
    if isinstance(sn, int):
        if sn < memory.state_sn:
            return [{"event_type": "heartbeat"}]  # a late (retried) state report: stale
        memory.state_sn = sn
    out: list[dict[str, Any]] = []
    if sta == "s":
        out.append({"event_type": "play_requested"})
    elif sta == "p":
        if not started:
            out.append({"event_type": "first_frame"})
            memory.started = True
        elif prev == "r":
            out.append({"event_type": "rebuffer_end"})
        elif prev == "k":
            out.append({"event_type": "seek_end"})
        elif prev != "p":
            out.append({"event_type": "playing"})
    elif sta == "a" and started:
        if prev == "k":
            out.append({"event_type": "seek_end"})
        if prev != "a":
            out.append({"event_type": "paused"})
    elif sta == "k" and started:
        if prev != "k":
            out.append({"event_type": "seek_start"})
    elif sta == "r" and started:
        if prev == "k":
            return [{"event_type": "heartbeat"}]  # buffering during a seek is seek time
        if prev == "p":
            out.append({"event_type": "rebuffer_start"})
    elif sta == "e":
        out += [{"event_type": "ended"}, {"event_type": "view_end", "reason": "ended"}]
        memory.over = True
    elif sta == "f" and report.values.get("ec"):
        out += _fatal(memory, report)
    # sta=f without ec: the error report (e=e, with ec) follows; see _report_events
    elif sta == "q":
        out.append({"event_type": "view_end", "reason": "aborted"})
        memory.over = True
    if sta not in ("w",) and not (sta == "r" and prev == "k"):
        memory.state = sta
    return out or [{"event_type": "heartbeat"}]


def _report_events(report: Report, memory: ViewMemory, kind: str | None) -> list[dict[str, Any]]:
    """The dictionary events of one report (before the envelope is added)."""
    values = report.values
    sta = values.get("sta")
    if kind is None:  # request mode: a state change is a play-state event, else a heartbeat
        if memory.over:
            return []
        if isinstance(sta, str) and sta != memory.state:
            return _state_events(memory, sta, report)
        return [{"event_type": "heartbeat"}]
    if kind == "ps":
        if not isinstance(sta, str):
            raise MappingError("a play-state report (e=ps) needs sta", "$.sta")
        return _state_events(memory, sta, report)
    if memory.over:
        return []  # the view is over: interval and response reports after it are not a view
    if kind == "e" and (sta == "f" or memory.state == "f"):
        return _fatal(memory, report)
    if sta == "f" or memory.state == "f":  # no error report came with the fatal state
        return _fatal(memory, report)
    if isinstance(sta, str) and sta in TERMINAL:
        return []
    if kind == "t":
        return [{"event_type": "heartbeat"}]
    if kind == "bc":
        return [{"event_type": "rendition_change"}]
    if kind == "e":
        return [{"event_type": "error", "error": _error_node(report, sta == "f")}]
    if kind == "rr":
        return [_segment(report)]
    if kind == "pr":
        return [{"event_type": "rate_change"}]
    if kind in ("m", "um"):
        return [{"event_type": "volume_change", "_muted": kind == "m"}]
    if kind == "h":
        host = values.get("h") or values.get("cdn")
        if not host:
            raise MappingError("a hostname-change report (e=h) needs h", "$.h")
        return [{"event_type": "cdn_change", "cdn": str(host)[:128]}]
    if kind in SIMPLE_EVENTS:
        return [{"event_type": SIMPLE_EVENTS[kind]}]
    if kind == "ce":
        name = values.get("cen") or "custom"
        return [{"event_type": "custom", "name": str(name)}]
    return [{"event_type": "custom", "name": CUSTOM_EVENTS.get(kind, f"cmcd_{kind}")}]


def _segment(report: Report) -> dict[str, Any]:
    values = report.values
    if not values.get("url"):
        raise MappingError("a response-received report (e=rr) needs url", "$.url")
    segment: dict[str, Any] = {
        "kind": OBJECT_KINDS.get(str(values.get("ot")), "other"),
        "url": values["url"][:2048],
    }
    for name, key in (("status", "rc"), ("ttfb_ms", "ttfb"), ("duration_ms", "ttlb")):
        if values.get(key) is not None:
            segment[name] = values[key]
    bitrate = _video_item(report, "br")
    if bitrate is not None:
        segment["bitrate_kbps"] = bitrate
    return {"event_type": "segment_response", "segment": segment, "_ttlb": values.get("ttlb")}


def _with_rendition(
    memory: ViewMemory, base: dict[str, Any], items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """A ``rendition_change`` before the report's events when the bitrate on screen changed
    without a ``bc`` report (dash.js sends none: its reports carry ``br``/``pb`` only)."""
    bitrate = base.get("fluxdata", {}).get("bitrate_kbps")
    if bitrate is None or not items:
        return items
    previous, memory.bitrate = memory.bitrate, bitrate
    explicit = any(i["event_type"] == "rendition_change" for i in items)
    if previous is None or previous == bitrate or explicit:
        return items
    return [{"event_type": "rendition_change"}, *items]


def _finish(
    items: list[dict[str, Any]], base: dict[str, Any], with_view_start: bool
) -> list[dict[str, Any]]:
    if with_view_start and items:
        items = [{"event_type": "view_start"}, *items]
    out = []
    for position, item in enumerate(items[:SEQ_STRIDE]):
        event = {k: v for k, v in base.items() if not k.startswith("_")}
        extra = {k: v for k, v in item.items() if not k.startswith("_")}
        event.update(extra)
        event["seq"] = base["_seq"] + position
        digest = hashlib.sha1(f"{base['_id']}\n{position}".encode()).hexdigest()
        event["event_id"] = f"cmcd-{digest[:32]}"
        if item.get("_ttlb") is not None:
            event["client_ts"] = base["client_ts"] + item["_ttlb"]
        if "_muted" in item:
            event["fluxdata"] = {**event.get("fluxdata", {}), "muted": item["_muted"]}
        out.append(event)
    return out


def _to_events(dicts: list[dict[str, Any]], ctx: RawContext) -> list[Event]:
    events = []
    for data in dicts:
        try:
            event = convert_event(data)
        except ValidationError as exc:
            raise MappingError(f"{data['event_type']}: {error_reason(exc)}") from None
        ctx.stamp(event)
        events.append(event)
    return events


class CmcdFormat:
    """Event-mode CMCD reports (``e`` = ps, t, bc, e, rr, …)."""

    name = "cmcd"

    def __init__(self) -> None:
        self.views = ViewStates(ViewMemory, MAX_VIEWS)

    def map(self, value: bytes, headers: dict[str, bytes]) -> list[Event]:
        ctx = RawContext.from_headers(headers)
        report = read_event_report(value)
        kind = report.values.get("e")
        if not kind:
            raise MappingError("e (the event type) is required on an event-mode report", "$.e")
        base = _envelope(report, ctx, "e", value)
        memory = self.views.get(base["view_id"])
        items = _with_rendition(memory, base, _report_events(report, memory, str(kind)))
        return _to_events(_finish(items, base, report.values.get("sn") == 0), ctx)


class CmcdRequestFormat:
    """Request-mode CMCD forwarded from media requests (no ``e``; ``sta`` drives states)."""

    name = "cmcd_request"

    def __init__(self) -> None:
        self.views = ViewStates(ViewMemory, MAX_VIEWS)

    def map(self, value: bytes, headers: dict[str, bytes]) -> list[Event]:
        ctx = RawContext.from_headers(headers)
        report = read_request_report(value, ctx)
        base = _envelope(report, ctx, "r", value)
        memory = self.views.get(base["view_id"])
        items = _with_rendition(memory, base, _report_events(report, memory, None))
        return _to_events(_finish(items, base, report.values.get("sn") == 0), ctx)
