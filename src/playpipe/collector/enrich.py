"""Server-side enrichment of incoming events: client address, device, location, event time.

The HTTP handler works per request, then per event::

    enricher = Enricher(settings)                                   # once, at start
    ctx = enricher.context(peer_ip, headers.get("x-forwarded-for"), headers.get("user-agent"))
    for item in parsed_events:                                      # dicts, not yet validated
        enricher.apply(item, ctx, received_at=now_ms, sent_at=batch_sent_at)
        event = convert_event(item)

Everything that costs something (user-agent parsing, geo lookups, address parsing) happens in
:meth:`Enricher.context`, once per request, behind caches. :meth:`Enricher.apply` only copies
precomputed values into the event dict.

What the collector writes on each event:

- ``received_at`` (always), ``event_ts`` and ``skew_flagged`` (always; see :func:`correct_time`);
- ``device``: filled from the User-Agent header by groups — type; os + os_version;
  browser + browser_version; model + manufacturer. A group is filled only when the client
  sent none of its fields, so a client-sent ``os`` is never paired with a header-derived
  ``os_version``;
- ``geo``: replaced by the lookup result when the address was found, else left as sent;
- ``network.ip``: always the collector's view of the client address (truncated unless
  ``keep_full_ip``); a client-sent ``ip`` is removed. ``network.asn`` / ``network.isp`` are
  replaced when the ASN database knows the address. Other ``network`` fields are kept.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

import msgspec
import ua_parser

from playpipe.collector.geo import GeoLookup
from playpipe.dictionary import DeviceNode, GeoNode
from playpipe.errors import ConfigError
from playpipe.log import get_logger

__all__ = [
    "BatchContext",
    "EnrichSettings",
    "Enricher",
    "UserAgentParser",
    "batch_skew",
    "client_ip",
    "correct_time",
    "device_type",
    "parse_networks",
    "skew_corrected",
    "truncate_ip",
]

log = get_logger("collector")

SETTING = "collector.enrich"
"""Where :class:`EnrichSettings` sits in the configuration tree (used in error messages)."""

NonNegative = Annotated[int, msgspec.Meta(ge=0)]

CONTEXT_CACHE_SIZE: Final = 4096
"""Distinct (peer, X-Forwarded-For, User-Agent) triples whose :class:`BatchContext` is kept."""

# --- client address -------------------------------------------------------------------------

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(text: str) -> IPAddress | None:
    """Parse an address; IPv4-mapped IPv6 (``::ffff:a.b.c.d``) becomes IPv4, zones are dropped."""
    try:
        addr = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return addr.ipv4_mapped
        if addr.scope_id:
            return ipaddress.IPv6Address(int(addr))
    return addr


def truncate_ip(ip: str, v4_prefix: int = 24, v6_prefix: int = 48) -> str:
    """Keep the first ``v4_prefix`` / ``v6_prefix`` bits of an address, zero the rest.

    ``203.0.113.77`` → ``203.0.113.0``; ``2001:db8:abcd:12::1`` → ``2001:db8:abcd::``.
    Returns ``""`` when ``ip`` is not an address.
    """
    addr = _address(ip)
    if addr is None:
        return ""
    bits, prefix = (32, v4_prefix) if addr.version == 4 else (128, v6_prefix)
    if not 0 <= prefix <= bits:
        raise ValueError(f"an IPv{addr.version} prefix must be between 0 and {bits}: {prefix}")
    mask = ((1 << bits) - 1) ^ ((1 << (bits - prefix)) - 1)
    return str(type(addr)(int(addr) & mask))


def parse_networks(
    values: Iterable[str], setting: str = "trusted_proxies"
) -> tuple[IPNetwork, ...]:
    """Parse CIDR networks or single addresses; a bad one raises ``ConfigError`` naming it."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ConfigError(
                f"`{setting}` contains {value!r}, which is not an IP network. Write networks "
                'as CIDR ("10.0.0.0/8", "fd00::/8") or single addresses ("127.0.0.1").'
            ) from None
    return tuple(networks)


def _hop(text: str) -> IPAddress | None:
    """One X-Forwarded-For entry: a bare address, ``[v6]:port`` or ``v4:port``."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    return _address(text)


def _trusted(addr: IPAddress, networks: Sequence[IPNetwork]) -> bool:
    return any(addr in network for network in networks)


def client_ip(peer: str, forwarded_for: str | None, trusted_proxies: Sequence[IPNetwork]) -> str:
    """The address of the client, as far as it can be believed.

    X-Forwarded-For is honoured only when the direct peer is in ``trusted_proxies``. Its
    entries are then walked from right to left, skipping trusted hops: the first untrusted
    hop is the client. An entry that is not an address stops the walk (nothing left of it can
    be believed) and the last believed hop is returned. When every hop is trusted, the
    leftmost one is the client. Returns ``""`` when ``peer`` is not an address.
    """
    addr = _address(peer)
    if addr is None:
        return ""
    if not forwarded_for or not _trusted(addr, trusted_proxies):
        return str(addr)
    for entry in reversed(forwarded_for.split(",")):
        hop = _hop(entry)
        if hop is None:
            break
        addr = hop
        if not _trusted(hop, trusted_proxies):
            break
    return str(addr)


# --- event time -----------------------------------------------------------------------------

DEFAULT_MAX_SKEW_MS: Final = 86_400_000
"""24 hours."""
MIN_EVENT_TS: Final = 946_684_800_000
"""2000-01-01T00:00:00Z: client timestamps before it are absurd."""
MAX_AHEAD_MS: Final = 86_400_000
"""A client timestamp more than a day after ``received_at`` is absurd."""
FUTURE_TOLERANCE_MS: Final = 1_000
"""How far after ``received_at`` a corrected time may land (clock jitter) before it is flagged."""


def batch_skew(
    client_sent_at: int | None, received_at: int, max_skew_ms: int = DEFAULT_MAX_SKEW_MS
) -> int | None:
    """The client clock's error for one batch, ``received_at - sent_at``; ``None`` when it
    cannot be used (no ``sent_at``, or larger than ``max_skew_ms`` either way)."""
    if client_sent_at is None:
        return None
    skew = received_at - client_sent_at
    return skew if -max_skew_ms <= skew <= max_skew_ms else None


def tolerated(skew: int | None, tolerance_ms: int) -> int | None:
    """``skew`` with errors of at most ``tolerance_ms`` (transit time, mostly) taken as 0."""
    return 0 if skew is not None and -tolerance_ms <= skew <= tolerance_ms else skew


def skew_corrected(client_ts: int, skew: int | None, received_at: int) -> tuple[int, bool]:
    """``(event_ts, skew_flagged)`` of one event, given its batch's :func:`batch_skew`."""
    if skew is None or not MIN_EVENT_TS <= client_ts <= received_at + MAX_AHEAD_MS:
        return received_at, True
    event_ts = client_ts + skew
    if event_ts > received_at:
        return received_at, event_ts > received_at + FUTURE_TOLERANCE_MS
    if event_ts < MIN_EVENT_TS:
        return received_at, True
    return event_ts, False


def correct_time(
    client_ts: int,
    client_sent_at: int | None,
    received_at: int,
    max_skew_ms: int = DEFAULT_MAX_SKEW_MS,
) -> tuple[int, bool]:
    """Event time corrected for the client's clock error: ``(event_ts, skew_flagged)``.

    The client stamps each batch with its send time ``sent_at`` by the same clock as the
    events' ``client_ts``. The clock error is ``skew = received_at - sent_at`` (network transit
    counts as skew; it is small against the errors corrected), and
    ``event_ts = client_ts + skew``, never later than ``received_at``.

    ``event_ts`` is ``received_at`` and the event is flagged when the correction cannot be
    trusted:

    - the batch has no ``sent_at``;
    - ``|skew| > max_skew_ms`` (24 h by default);
    - ``client_ts`` is absurd: before 2000-01-01 or more than a day after ``received_at``;
    - the corrected time is later than ``received_at`` by more than ``FUTURE_TOLERANCE_MS``
      (the event claims to have happened after its batch was sent); within the tolerance it
      is clamped to ``received_at`` without a flag.

    In a batch, :func:`batch_skew` once and :func:`skew_corrected` per event do the same.
    """
    return skew_corrected(
        client_ts, batch_skew(client_sent_at, received_at, max_skew_ms), received_at
    )


# --- user agent -----------------------------------------------------------------------------

MAX_USER_AGENT: Final = 2048
"""Longer User-Agent strings are cut before parsing (bounded regex work and cache keys)."""

_CONSOLE = re.compile(r"PlayStation|Xbox|Nintendo", re.IGNORECASE)
_TV = re.compile(
    r"SMART-?TV|SmartTV|Tizen|Web0S|webOS|NetCast|AppleTV|Apple TV|tvOS|Roku|CrKey|Chromecast"
    r"|BRAVIA|HbbTV|GoogleTV|Google TV|Android ?TV|\bAFT[A-Z]"
)
_TABLET = re.compile(r"iPad|Tablet|Kindle|Silk|PlayBook|\bKF[A-Z]{2,4}\b")
_MOBILE = re.compile(r"Mobi|iPhone|iPod|Windows Phone|BlackBerry|Opera Mini")
_MOBILE_OS = frozenset({"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS"})
_DESKTOP_OS = frozenset(
    {
        "Windows", "Mac OS X", "macOS", "Linux", "Ubuntu", "Debian", "Fedora", "Red Hat",
        "SUSE", "openSUSE", "Mint", "Arch Linux", "Gentoo", "Chrome OS", "ChromeOS",
        "FreeBSD", "OpenBSD", "NetBSD", "Solaris",
    }
)  # fmt: skip
_TEXT_MAX = 256
_VERSION_MAX = 64

DeviceType = Literal["desktop", "mobile", "tablet", "tv", "console", "other"]


def device_type(
    ua: str, os_family: str | None, device_family: str | None, brand: str | None
) -> DeviceType:
    """Device class from the raw User-Agent and ua-parser's OS and device families.

    The first rule that matches wins:

    1. ``console``: PlayStation, Xbox or Nintendo in the UA or the device family;
    2. ``tv``: smart-TV and streaming-stick markers — SMART-TV, SmartTV, Tizen, webOS/Web0S,
       NetCast, AppleTV / Apple TV / tvOS, Roku, CrKey / Chromecast, BRAVIA, HbbTV, Google TV,
       Android TV, Fire TV models (``AFT…``);
    3. ``tablet``: iPad, "Tablet", Kindle / Silk / ``KF…`` Fire tablets, PlayBook, ua-parser's
       generic Android tablet, or Android without "Mobile" (Android's own convention);
    4. ``mobile``: iPhone / iPod, a "Mobi" token, Windows Phone, BlackBerry, Opera Mini, or a
       mobile OS (iOS, Android, …) not matched above;
    5. ``desktop``: a desktop OS (Windows, macOS, Linux distributions, ChromeOS, BSDs);
    6. ``other``: anything else (bots, command-line clients, unknown strings).

    iPadOS Safari in its default "desktop site" mode sends a macOS UA and counts as desktop.
    """
    family = device_family or ""
    if _CONSOLE.search(ua) or _CONSOLE.search(family):
        return "console"
    if _TV.search(ua) or _TV.search(family):
        return "tv"
    android = os_family == "Android" or "Android" in ua
    if (
        family == "iPad"
        or brand == "Generic_Android_Tablet"
        or _TABLET.search(ua)
        or (android and "Mobile" not in ua)
    ):
        return "tablet"
    if _MOBILE.search(ua) or family in ("iPhone", "iPod") or os_family in _MOBILE_OS:
        return "mobile"
    if os_family in _DESKTOP_OS or family == "Mac":
        return "desktop"
    return "other"


def _version(*parts: str | None) -> str | None:
    kept: list[str] = []
    for part in parts:
        if not part:
            break
        kept.append(part)
    return ".".join(kept)[:_VERSION_MAX] or None


def _text(value: str | None) -> str | None:
    return value[:_TEXT_MAX] if value else None


def _resolver() -> ua_parser.Resolver:
    basic = ua_parser.BestAvailableResolver is ua_parser.BasicResolver
    matchers = ua_parser.load_builtins() if basic else ua_parser.load_lazy_builtins()
    return ua_parser.BestAvailableResolver(matchers)


class UserAgentParser:
    """User-Agent string → :class:`~playpipe.dictionary.DeviceNode`, with an LRU cache.

    Parsing costs milliseconds; the beacons of one view share one User-Agent, so nearly every
    call is a cache hit. Builds its regexes at construction (a fraction of a second). Safe to
    share between threads. The returned nodes are shared: do not modify them.
    """

    def __init__(self, cache_size: int = 10_000) -> None:
        self._resolve = _resolver()
        self._cached = functools.lru_cache(maxsize=cache_size)(self._parse)

    def parse(self, user_agent: str) -> DeviceNode | None:
        """The device described by ``user_agent``; ``None`` for an empty string."""
        return self._cached(user_agent[:MAX_USER_AGENT])

    def _parse(self, ua: str) -> DeviceNode | None:
        if not ua.strip():
            return None
        result = self._resolve(ua, ua_parser.Domain.ALL).complete()
        agent, os, device = result.user_agent, result.os, result.device
        brand = device.brand if device else None
        manufacturer = brand if brand and not brand.startswith(("Generic", "Spider")) else None
        kind = device_type(ua, os.family if os else None, device.family if device else None, brand)
        return DeviceNode(
            type=kind,
            os=_text(os.family) if os else None,
            os_version=_version(os.major, os.minor, os.patch, os.patch_minor) if os else None,
            browser=_text(agent.family) if agent else None,
            browser_version=(
                _version(agent.major, agent.minor, agent.patch, agent.patch_minor)
                if agent
                else None
            ),
            model=_text(device.model) if device and brand != "Spider" else None,
            manufacturer=_text(manufacturer),
        )


class EnrichSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """How the collector enriches events (``[collector.enrich]``)."""

    geoip_city_db: str = ""
    """Path of a MaxMind-format City database (.mmdb); empty: no country/region/city."""
    geoip_asn_db: str = ""
    """Path of a MaxMind-format ASN database (.mmdb); empty: no ASN/ISP."""
    trusted_proxies: list[str] = []
    """Networks (CIDR or single addresses) of the proxies whose X-Forwarded-For is believed."""
    ip_v4_prefix: Annotated[int, msgspec.Meta(ge=0, le=32)] = 24
    """Bits of an IPv4 client address kept in ``network.ip``."""
    ip_v6_prefix: Annotated[int, msgspec.Meta(ge=0, le=128)] = 48
    """Bits of an IPv6 client address kept in ``network.ip``."""
    keep_full_ip: bool = False
    """Store the full client address instead of the truncated one (mind the privacy laws)."""
    max_skew_ms: NonNegative = DEFAULT_MAX_SKEW_MS
    """Largest client clock error corrected; beyond it ``event_ts`` is ``received_at``."""
    skew_tolerance_ms: NonNegative = 1000
    """A clock error this small is not corrected: it cannot be told apart from transit time."""
    ua_cache_size: NonNegative = 10_000
    """Distinct User-Agent strings whose parse result is kept in memory."""


_DEVICE_GROUPS: tuple[tuple[str, ...], ...] = (
    ("type",),
    ("os", "os_version"),
    ("browser", "browser_version"),
    ("model", "manufacturer"),
)

DeviceGroups = tuple[tuple[tuple[str, ...], dict[str, str]], ...]


def _device_groups(device: DeviceNode | None) -> DeviceGroups:
    if device is None:
        return ()
    groups = []
    for keys in _DEVICE_GROUPS:
        values = {key: getattr(device, key) for key in keys if getattr(device, key) is not None}
        if values:
            groups.append((keys, values))
    return tuple(groups)


def _fields(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    return {key: value for key, value in pairs if value is not None and value != ""}


@dataclass(frozen=True, slots=True)
class BatchContext:
    """What the collector knows about one request; shared by every event of the batch."""

    ip: str
    """Client address as stored in ``network.ip`` (truncated unless ``keep_full_ip``); may be
    empty when the peer address could not be parsed."""
    device: DeviceNode | None
    geo: GeoNode | None
    asn: int | None
    isp: str | None
    device_groups: DeviceGroups
    device_fields: dict[str, str]
    geo_fields: dict[str, str]
    network_fields: dict[str, Any]


def _context(
    ip: str, device: DeviceNode | None, geo: GeoNode | None, asn: int | None, isp: str | None
) -> BatchContext:
    groups = _device_groups(device)
    geo_fields = _fields(msgspec.structs.asdict(geo).items()) if geo is not None else {}
    return BatchContext(
        ip=ip,
        device=device,
        geo=geo,
        asn=asn,
        isp=isp,
        device_groups=groups,
        device_fields={k: v for _, values in groups for k, v in values.items()},
        geo_fields=geo_fields,
        network_fields=_fields((("ip", ip), ("asn", asn), ("isp", isp))),
    )


class Enricher:
    """Builds a :class:`BatchContext` per request and applies it to each event dict.

    Raises :class:`~playpipe.errors.ConfigError` at construction when a database cannot be
    opened or a trusted proxy is not a network. Safe to share between threads.
    """

    def __init__(self, settings: EnrichSettings | None = None) -> None:
        self.settings = settings = settings or EnrichSettings()
        if not 0 <= settings.ip_v4_prefix <= 32 or not 0 <= settings.ip_v6_prefix <= 128:
            raise ConfigError(
                f"`{SETTING}.ip_v4_prefix` must be 0..32 and `{SETTING}.ip_v6_prefix` 0..128."
            )
        self._trusted: tuple[IPNetwork, ...] = parse_networks(
            settings.trusted_proxies, f"{SETTING}.trusted_proxies"
        )
        self._ua = UserAgentParser(cache_size=settings.ua_cache_size)
        self._geo = GeoLookup(
            settings.geoip_city_db,
            settings.geoip_asn_db,
            city_setting=f"{SETTING}.geoip_city_db",
            asn_setting=f"{SETTING}.geoip_asn_db",
        )
        log.info(
            "enrich.ready",
            geoip_city=bool(settings.geoip_city_db),
            geoip_asn=bool(settings.geoip_asn_db),
            trusted_proxies=len(self._trusted),
            keep_full_ip=settings.keep_full_ip,
        )
        self._contexts = functools.lru_cache(maxsize=CONTEXT_CACHE_SIZE)(self._context)

    def context(
        self, peer_ip: str, forwarded_for: str | None, user_agent: str | None
    ) -> BatchContext:
        """Everything known about one request: client address, device, location; cached.

        ``forwarded_for`` is the X-Forwarded-For header (several headers joined with ``,``);
        it is used only when ``peer_ip`` is a trusted proxy.
        """
        return self._contexts(peer_ip, forwarded_for or "", user_agent or "")

    def _context(self, peer_ip: str, forwarded_for: str, user_agent: str) -> BatchContext:
        settings = self.settings
        ip = client_ip(peer_ip, forwarded_for, self._trusted)
        stored = (
            ip
            if settings.keep_full_ip
            else truncate_ip(ip, settings.ip_v4_prefix, settings.ip_v6_prefix)
        )
        device = self._ua.parse(user_agent) if user_agent else None
        geo, asn, isp = self._geo.lookup(ip)
        return _context(stored, device, geo, asn, isp)

    def apply(
        self, event: dict[str, Any], ctx: BatchContext, received_at: int, sent_at: int | None
    ) -> None:
        """Fill the collector's fields of one parsed, not yet validated, event dict in place.

        Values of the wrong type are left alone: validation rejects the event afterwards.
        For a whole batch, :meth:`apply_batch` is faster.
        """
        skew = batch_skew(sent_at, received_at, self.settings.max_skew_ms)
        _apply(event, ctx, received_at, skew)

    def apply_batch(
        self, events: Iterable[Any], ctx: BatchContext, received_at: int, sent_at: int | None
    ) -> None:
        """:meth:`apply` to every dict of a batch; other items are left to validation."""
        skew = batch_skew(sent_at, received_at, self.settings.max_skew_ms)
        for event in events:
            if type(event) is dict:
                _apply(event, ctx, received_at, skew)

    def close(self) -> None:
        """Close the geo databases."""
        self._contexts.cache_clear()
        self._geo.close()


def _apply(event: dict[str, Any], ctx: BatchContext, received_at: int, skew: int | None) -> None:
    event["received_at"] = received_at
    client_ts = event.get("client_ts")
    if type(client_ts) is not int:
        event["event_ts"] = received_at
        event["skew_flagged"] = True
    elif (
        skew is not None
        and MIN_EVENT_TS <= client_ts <= received_at + MAX_AHEAD_MS
        and MIN_EVENT_TS <= client_ts + skew <= received_at
    ):  # the common case, inlined: what skew_corrected would return
        event["event_ts"] = client_ts + skew
        event["skew_flagged"] = False
    else:
        event["event_ts"], event["skew_flagged"] = skew_corrected(client_ts, skew, received_at)

    device = event.get("device")
    if device is None:
        if ctx.device_fields:
            event["device"] = ctx.device_fields.copy()
    elif type(device) is dict:
        for keys, values in ctx.device_groups:
            for key in keys:
                if device.get(key) is not None:
                    break
            else:
                device.update(values)

    if ctx.geo_fields:
        event["geo"] = ctx.geo_fields.copy()

    network = event.get("network")
    if network is None:
        if ctx.network_fields:
            event["network"] = ctx.network_fields.copy()
    elif type(network) is dict:
        network.pop("ip", None)
        network.update(ctx.network_fields)
