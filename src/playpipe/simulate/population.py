"""The population model: who watches, from where, on what, through which CDN.

Everything is drawn from a caller-owned ``random.Random``, never the global one, so a seed
reproduces the same viewers. :class:`Quality` answers "how good is this CDN for this viewer
at this instant", which is where a :class:`~playpipe.simulate.options.DegradeSpec` bites.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from playpipe.dictionary import ContentNode, GeoNode, NetworkNode, PlayerNode
from playpipe.simulate.options import DegradeSpec, SimOptions
from playpipe.simulate.profiles import (
    CDNS,
    CONNECTIONS,
    CONTENT,
    COUNTRIES,
    DEVICES,
    LADDER,
    CdnProfile,
    ConnectionProfile,
    ContentItem,
    CountryProfile,
    DeviceProfile,
    PlayerProfile,
    Rendition,
)

__all__ = ["Quality", "ViewSetup", "Viewer", "draw_view", "draw_viewer", "lognormal", "new_id"]

T = TypeVar("T")

GRID_MS = 10
"""Every simulated instant is a multiple of 10 ms (see docs/simulator.md, "true time")."""


def new_id(rng: random.Random) -> str:
    """A random 128-bit id drawn from ``rng``, as 32 hex digits (a UUID without dashes)."""
    return rng.getrandbits(128).to_bytes(16, "little").hex()


def grid(ms: float, minimum: int = GRID_MS) -> int:
    """Round a duration to the 10 ms grid, at least ``minimum``."""
    return max(minimum, round(ms / GRID_MS) * GRID_MS)


def lognormal(rng: random.Random, median: float, sigma: float) -> float:
    """A log-normal draw given its median."""
    return median * math.exp(rng.gauss(0.0, sigma))


def pick(rng: random.Random, items: Sequence[T], weights: Sequence[float]) -> T:
    """One weighted choice."""
    return rng.choices(items, weights)[0]


_DEVICE_WEIGHTS = [d.weight for d in DEVICES]
_COUNTRY_WEIGHTS = [c.weight for c in COUNTRIES]
_CDN_WEIGHTS = [c.weight for c in CDNS]
_CONTENT_WEIGHTS = [c.weight for c in CONTENT]


@dataclass(slots=True)
class Viewer:
    """One simulated viewer: a device with one ``User-Agent``, a place, a clock."""

    viewer_id: str
    session_id: str
    device: DeviceProfile
    player: PlayerNode
    country: CountryProfile
    region: str
    isp_asn: int
    isp_name: str
    connection: ConnectionProfile
    bandwidth_kbps: float
    skew_ms: int
    """Client clock minus true time."""
    geo: GeoNode

    @property
    def user_agent(self) -> str:
        return self.device.user_agent


@dataclass(slots=True)
class ViewSetup:
    """What one view plays: content, CDN, context nodes and rendition ladder."""

    view_id: str
    content: ContentItem
    cdn: CdnProfile
    content_node: ContentNode
    network: NetworkNode
    ladder: tuple[Rendition, ...]
    dims: dict[str, str | int | None]


def _skew(rng: random.Random, options: SimOptions) -> int:
    roll = rng.random()
    if not options.skewed_clocks:
        return 0
    if roll < options.skew_hours_share:
        hours = rng.choice((-5, -3, -2, -1, 1, 2, 3, 8))
        return hours * 3_600_000 + rng.randint(-90_000, 90_000)
    if roll < options.skew_hours_share + options.skew_minutes_share:
        return rng.randint(-300_000, 300_000)
    return round(rng.gauss(0.0, options.skew_sd_ms))


def _player(rng: random.Random, device: DeviceProfile) -> PlayerNode:
    profile: PlayerProfile = pick(rng, device.players, [p.weight for p in device.players])
    return PlayerNode(
        name=profile.name,
        version=profile.version,
        integration=profile.integration,
        sdk_version="0.1.0",
    )


def draw_viewer(rng: random.Random, options: SimOptions) -> Viewer:
    """A new viewer: device, player, country, region, ISP, connection and clock skew."""
    device = pick(rng, DEVICES, _DEVICE_WEIGHTS)
    country = pick(rng, COUNTRIES, _COUNTRY_WEIGHTS)
    region = pick(rng, [r for r, _ in country.regions], [w for _, w in country.regions])
    isp = pick(rng, country.isps, [i.weight for i in country.isps])
    connection = CONNECTIONS[
        pick(rng, [c for c, _ in device.connections], [w for _, w in device.connections])
    ]
    bandwidth = lognormal(rng, country.bandwidth_kbps * connection.bandwidth_factor, 0.6)
    return Viewer(
        viewer_id=new_id(rng),
        session_id=new_id(rng),
        device=device,
        player=_player(rng, device),
        country=country,
        region=region,
        isp_asn=isp.asn,
        isp_name=isp.name,
        connection=connection,
        bandwidth_kbps=bandwidth,
        skew_ms=_skew(rng, options),
        geo=GeoNode(country=country.code, region=region, continent=country.continent),  # type: ignore[arg-type]
    )


def draw_view(rng: random.Random, viewer: Viewer, property_key: str) -> ViewSetup:
    """A new view of ``viewer``: content from the catalogue, a CDN, the ladder it can play."""
    content = pick(rng, CONTENT, _CONTENT_WEIGHTS)
    cdn = pick(rng, CDNS, _CDN_WEIGHTS)
    node = ContentNode(
        id=content.id,
        title=content.title,
        series=content.series,
        category=content.category,
        duration_ms=content.duration_ms,
        stream_type=content.stream_type,  # type: ignore[arg-type]
        url=f"https://{cdn.name}.media.example/{content.id}/master.m3u8",
    )
    network = NetworkNode(
        asn=viewer.isp_asn,
        isp=viewer.isp_name,
        connection_type=viewer.connection.name,
        cdn=cdn.name,
    )
    ladder = tuple(r for r in LADDER if r.height <= viewer.device.max_height)
    player = viewer.player
    dims: dict[str, str | int | None] = {
        "content_id": content.id,
        "stream_type": content.stream_type,
        "player_name": player.name,
        "player_version": player.version,
        "device_type": viewer.device.device_type,
        "os": viewer.device.os,
        "browser": viewer.device.browser,
        "country": viewer.country.code,
        "region": viewer.region,
        "asn": viewer.isp_asn,
        "isp": viewer.isp_name,
        "cdn": cdn.name,
        "property": property_key,
    }
    return ViewSetup(new_id(rng), content, cdn, node, network, ladder, dims)


class Quality:
    """CDN quality as a viewer experiences it, including the degradation."""

    def __init__(
        self,
        viewer: Viewer,
        cdn: CdnProfile,
        degrade: DegradeSpec | None,
        start_ms: int,
        options: SimOptions | None = None,
    ) -> None:
        self.cdn = cdn
        self.start_failure_scale = options.start_failure_scale if options else 1.0
        self.playback_failure_scale = options.playback_failure_scale if options else 1.0
        self.env = viewer.country.quality_factor
        self.connection = viewer.connection
        self.device_factor = viewer.device.startup_factor
        self.degraded_from: int | None = None
        self.spec = degrade if degrade is not None and degrade.cdn == cdn.name else None
        if self.spec is not None:
            self.degraded_from = self.spec.at_ms(start_ms)

    def degraded(self, t: int) -> bool:
        return self.degraded_from is not None and t >= self.degraded_from

    def _factor(self, t: int, name: str) -> float:
        if self.spec is None or not self.degraded(t):
            return 1.0
        value: float = getattr(self.spec, name)
        return value

    def startup_ms(self, rng: random.Random, t: int) -> float:
        """Content startup time of an attempt made at ``t``."""
        median = (
            self.cdn.startup_median_ms
            * self.env**0.5
            * self.connection.startup_factor
            * self.device_factor
            * self._factor(t, "startup_factor")
        )
        return lognormal(rng, median, self.cdn.startup_sigma)

    def start_failure_rate(self, t: int) -> float:
        rate = self.cdn.start_failure_rate * self.start_failure_scale
        return min(0.9, rate * self._factor(t, "failure_factor"))

    def rebuffers_per_ms(self, t: int) -> float:
        per_min = (
            self.cdn.rebuffers_per_min
            * self.env
            * self.connection.rebuffer_factor
            * self._factor(t, "rebuffer_factor")
        )
        return per_min / 60_000.0

    def rebuffer_ms(self, rng: random.Random, t: int) -> float:
        median = self.cdn.rebuffer_median_ms * self._factor(t, "rebuffer_length_factor")
        return lognormal(rng, median, self.cdn.rebuffer_sigma)

    def failures_per_ms(self, t: int) -> float:
        per_hour = (
            self.cdn.playback_failures_per_hour
            * self.playback_failure_scale
            * self._factor(t, "failure_factor")
        )
        return per_hour / 3_600_000.0

    def seek_ms(self, rng: random.Random) -> float:
        return lognormal(rng, self.cdn.seek_median_ms * self.env**0.5, 0.5)
