"""The simulated world: devices, players, countries, ISPs, CDNs, content and bitrate ladders.

Static, weighted tables; :mod:`playpipe.simulate.population` draws from them. Each device
profile declares what the collector's user-agent parsing reports for its ``User-Agent``
(``device_type``, ``os``, ``browser``); a unit test checks the declarations against the
collector's parser, so the ground truth's device dimensions match the pipeline's.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CDNS",
    "CONNECTIONS",
    "CONTENT",
    "COUNTRIES",
    "DEVICES",
    "LADDER",
    "CdnProfile",
    "ConnectionProfile",
    "ContentItem",
    "CountryProfile",
    "DeviceProfile",
    "Isp",
    "PlayerProfile",
    "Rendition",
    "cdn_names",
]


@dataclass(frozen=True, slots=True)
class PlayerProfile:
    """A player and the playpipe integration observing it."""

    name: str
    version: str
    integration: str
    weight: float


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    """One kind of device, its ``User-Agent`` and what the collector derives from it."""

    key: str
    weight: float
    user_agent: str
    device_type: str
    os: str | None
    browser: str | None
    players: tuple[PlayerProfile, ...]
    connections: tuple[tuple[str, float], ...]
    max_height: int
    """Highest rendition the device plays (screen size)."""
    startup_factor: float = 1.0
    """Multiplier of the CDN's startup time (slow TV and console players are > 1)."""


@dataclass(frozen=True, slots=True)
class Isp:
    """An access network: AS number, name and share within its country."""

    asn: int
    name: str
    weight: float


@dataclass(frozen=True, slots=True)
class CountryProfile:
    """A country: share of viewers, regions (ISO 3166-2 codes), ISPs and network quality."""

    code: str
    continent: str
    weight: float
    regions: tuple[tuple[str, float], ...]
    isps: tuple[Isp, ...]
    bandwidth_kbps: float
    """Median downstream bandwidth of a fixed line."""
    quality_factor: float
    """Multiplier of startup time and rebuffer rate (1 = good networks)."""


@dataclass(frozen=True, slots=True)
class ConnectionProfile:
    """Connection type and how it shifts bandwidth and stalls."""

    name: str
    bandwidth_factor: float
    rebuffer_factor: float
    startup_factor: float


@dataclass(frozen=True, slots=True)
class CdnProfile:
    """A CDN's quality: startup, rebuffering, seek and failure behaviour."""

    name: str
    weight: float
    startup_median_ms: float
    startup_sigma: float
    """Log-normal shape of the startup time."""
    rebuffers_per_min: float
    """Rate of stalls per minute of playing (Poisson), before country/connection factors."""
    rebuffer_median_ms: float
    rebuffer_sigma: float
    seek_median_ms: float
    start_failure_rate: float
    """Share of play attempts that fail with a fatal error before the first frame."""
    playback_failures_per_hour: float
    """Rate of fatal errors per hour of playing."""


@dataclass(frozen=True, slots=True)
class ContentItem:
    """A piece of content in the catalogue."""

    id: str
    title: str
    stream_type: str
    duration_ms: int | None
    weight: float
    category: str
    ads: bool
    """Whether the free tier shows a pre-roll on this item."""
    series: str | None = None


@dataclass(frozen=True, slots=True)
class Rendition:
    """One rung of the bitrate ladder."""

    label: str
    height: int
    bitrate_kbps: int


_WEB_PLAYERS = (
    PlayerProfile("hls.js", "1.5.17", "hlsjs", 4.0),
    PlayerProfile("Video.js", "8.21.0", "videojs", 3.0),
    PlayerProfile("dash.js", "4.7.4", "dashjs", 1.5),
    PlayerProfile("Shaka Player", "4.12.6", "shaka", 1.5),
)
_SAFARI_PLAYERS = (
    PlayerProfile("html5", "1.0", "html5", 3.0),
    PlayerProfile("Video.js", "8.21.0", "videojs", 2.0),
    PlayerProfile("hls.js", "1.5.17", "hlsjs", 1.0),
)
_IOS_PLAYERS = (
    PlayerProfile("html5", "1.0", "html5", 4.0),
    PlayerProfile("Video.js", "8.21.0", "videojs", 1.0),
)
_ANDROID_WEB_PLAYERS = (
    PlayerProfile("hls.js", "1.5.17", "hlsjs", 2.0),
    PlayerProfile("Video.js", "8.21.0", "videojs", 2.0),
    PlayerProfile("Shaka Player", "4.12.6", "shaka", 1.0),
)
_HOME = (("wifi", 0.8), ("ethernet", 0.2))
_DESKTOP = (("wifi", 0.55), ("ethernet", 0.45))
_MOBILE = (("cellular", 0.55), ("wifi", 0.45))
_TABLET = (("wifi", 0.85), ("cellular", 0.15))

DEVICES: tuple[DeviceProfile, ...] = (
    DeviceProfile(
        "windows-chrome",
        18.0,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "desktop",
        "Windows",
        "Chrome",
        _WEB_PLAYERS,
        _DESKTOP,
        1080,
    ),
    DeviceProfile(
        "windows-edge",
        6.0,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
        "desktop",
        "Windows",
        "Edge",
        _WEB_PLAYERS,
        _DESKTOP,
        1080,
    ),
    DeviceProfile(
        "windows-firefox",
        3.0,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "desktop",
        "Windows",
        "Firefox",
        _WEB_PLAYERS,
        _DESKTOP,
        1080,
    ),
    DeviceProfile(
        "mac-safari",
        5.0,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.2 Safari/605.1.15",
        "desktop",
        "Mac OS X",
        "Safari",
        _SAFARI_PLAYERS,
        _DESKTOP,
        1080,
    ),
    DeviceProfile(
        "mac-chrome",
        4.0,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "desktop",
        "Mac OS X",
        "Chrome",
        _WEB_PLAYERS,
        _DESKTOP,
        1080,
    ),
    DeviceProfile(
        "chromebook",
        1.0,
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "desktop",
        "Chrome OS",
        "Chrome",
        _WEB_PLAYERS,
        _DESKTOP,
        720,
    ),
    DeviceProfile(
        "iphone-safari",
        16.0,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.2 Mobile/15E148 Safari/604.1",
        "mobile",
        "iOS",
        "Mobile Safari",
        _IOS_PLAYERS,
        _MOBILE,
        1080,
    ),
    DeviceProfile(
        "iphone-chrome",
        2.0,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
        "mobile",
        "iOS",
        "Chrome Mobile iOS",
        _IOS_PLAYERS,
        _MOBILE,
        1080,
    ),
    DeviceProfile(
        "pixel-chrome",
        5.0,
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.6778.104 Mobile Safari/537.36",
        "mobile",
        "Android",
        "Chrome Mobile",
        _ANDROID_WEB_PLAYERS,
        _MOBILE,
        1080,
    ),
    DeviceProfile(
        "galaxy-samsung-internet",
        5.0,
        "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
        "mobile",
        "Android",
        "Samsung Internet",
        _ANDROID_WEB_PLAYERS,
        _MOBILE,
        1080,
    ),
    DeviceProfile(
        "galaxy-a-chrome",
        7.0,
        "Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.6778.104 Mobile Safari/537.36",
        "mobile",
        "Android",
        "Chrome Mobile",
        _ANDROID_WEB_PLAYERS,
        _MOBILE,
        720,
        1.15,
    ),
    DeviceProfile(
        "ipad-safari",
        4.0,
        "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.6 Mobile/15E148 Safari/604.1",
        "tablet",
        "iOS",
        "Mobile Safari",
        _IOS_PLAYERS,
        _TABLET,
        1080,
    ),
    DeviceProfile(
        "galaxy-tab-chrome",
        1.5,
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.6778.104 Safari/537.36",
        "tablet",
        "Android",
        "Chrome",
        _ANDROID_WEB_PLAYERS,
        _TABLET,
        1080,
    ),
    DeviceProfile(
        "samsung-tizen-tv",
        5.0,
        "Mozilla/5.0 (SMART-TV; LINUX; Tizen 7.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "94.0.4606.31/7.0 TV Safari/537.36",
        "tv",
        "Tizen",
        "Safari",
        (PlayerProfile("Tizen AVPlay", "7.0", "tizen", 2.0), *_WEB_PLAYERS[:1]),
        _HOME,
        2160,
        1.4,
    ),
    DeviceProfile(
        "lg-webos-tv",
        3.0,
        "Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/94.0.4606.128 Safari/537.36 WebAppManager",
        "tv",
        "Web0S",
        "Chrome",
        (PlayerProfile("webOS Media", "6.0", "webos", 1.0), *_WEB_PLAYERS[:2]),
        _HOME,
        2160,
        1.4,
    ),
    DeviceProfile(
        "roku",
        4.0,
        "Roku/DVP-14.0 (14.0.4.5180-46)",
        "tv",
        "Roku",
        "Roku",
        (PlayerProfile("Roku Video Node", "14.0", "roku", 1.0),),
        _HOME,
        2160,
        1.5,
    ),
    DeviceProfile(
        "apple-tv",
        2.5,
        "AppleCoreMedia/1.0.0.22K154 (Apple TV; U; CPU OS 18_2 like Mac OS X; en_us)",
        "tv",
        "ATV OS X",
        None,
        (PlayerProfile("AVPlayer", "18.2", "avplayer", 1.0),),
        _HOME,
        2160,
    ),
    DeviceProfile(
        "fire-tv",
        2.5,
        "Mozilla/5.0 (Linux; Android 9; AFTMM Build/PS7633.3445N; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/130.0.6723.107 Mobile Safari/537.36",
        "tv",
        "Android",
        "Chrome Mobile WebView",
        (PlayerProfile("ExoPlayer", "2.19.1", "exoplayer", 1.0),),
        _HOME,
        2160,
        1.3,
    ),
    DeviceProfile(
        "playstation-5",
        1.5,
        "Mozilla/5.0 (PlayStation 5 10.20) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/10.20 Safari/605.1.15",
        "console",
        None,
        "Safari",
        (PlayerProfile("Shaka Player", "4.12.6", "shaka", 1.0),),
        _HOME,
        2160,
        1.2,
    ),
    DeviceProfile(
        "xbox",
        1.0,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox Series X) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edge/20.02",
        "console",
        "Windows",
        "Edge",
        (PlayerProfile("Shaka Player", "4.12.6", "shaka", 1.0),),
        _HOME,
        2160,
        1.2,
    ),
)

CONNECTIONS: dict[str, ConnectionProfile] = {
    "ethernet": ConnectionProfile("ethernet", 1.3, 0.6, 0.9),
    "wifi": ConnectionProfile("wifi", 1.0, 1.0, 1.0),
    "cellular": ConnectionProfile("cellular", 0.45, 2.2, 1.3),
}


def _isps(*items: tuple[int, str, float]) -> tuple[Isp, ...]:
    return tuple(Isp(asn, name, weight) for asn, name, weight in items)


COUNTRIES: tuple[CountryProfile, ...] = (
    CountryProfile(
        "US",
        "NA",
        30.0,
        (("CA", 12.0), ("TX", 9.0), ("FL", 7.0), ("NY", 6.0), ("IL", 4.0), ("WA", 2.5)),
        _isps(
            (7922, "Comcast Cable", 30.0),
            (20115, "Charter Communications", 25.0),
            (7018, "AT&T Services", 18.0),
            (701, "Verizon Business", 12.0),
            (21928, "T-Mobile USA", 15.0),
        ),
        45_000.0,
        1.0,
    ),
    CountryProfile(
        "GB",
        "EU",
        9.0,
        (("ENG", 8.0), ("SCT", 1.0), ("WLS", 0.6)),
        _isps(
            (2856, "British Telecommunications", 35.0),
            (5607, "Sky UK", 25.0),
            (5089, "Virgin Media", 25.0),
            (5378, "Vodafone UK", 15.0),
        ),
        40_000.0,
        1.0,
    ),
    CountryProfile(
        "DE",
        "EU",
        8.0,
        (("BY", 3.0), ("NW", 4.0), ("BE", 1.5), ("HE", 1.5)),
        _isps(
            (3320, "Deutsche Telekom", 45.0),
            (3209, "Vodafone GmbH", 35.0),
            (6805, "Telefonica Germany", 20.0),
        ),
        35_000.0,
        1.05,
    ),
    CountryProfile(
        "FR",
        "EU",
        7.0,
        (("IDF", 4.0), ("ARA", 1.8), ("PAC", 1.2), ("OCC", 1.2)),
        _isps(
            (3215, "Orange", 40.0),
            (12322, "Free SAS", 25.0),
            (15557, "SFR", 20.0),
            (5410, "Bouygues Telecom", 15.0),
        ),
        50_000.0,
        1.0,
    ),
    CountryProfile(
        "ES",
        "EU",
        4.0,
        (("MD", 2.0), ("CT", 1.8), ("AN", 1.5)),
        _isps((3352, "Telefonica de Espana", 55.0), (12430, "Vodafone Spain", 45.0)),
        45_000.0,
        1.0,
    ),
    CountryProfile(
        "CA",
        "NA",
        5.0,
        (("ON", 4.0), ("QC", 2.3), ("BC", 1.4)),
        _isps(
            (812, "Rogers Communications", 40.0), (577, "Bell Canada", 40.0), (852, "Telus", 20.0)
        ),
        40_000.0,
        1.0,
    ),
    CountryProfile(
        "BR",
        "SA",
        9.0,
        (("SP", 5.0), ("RJ", 2.5), ("MG", 2.0)),
        _isps((28573, "Claro NXT", 40.0), (26599, "Telefonica Brasil", 35.0), (7738, "Oi", 25.0)),
        18_000.0,
        1.5,
    ),
    CountryProfile(
        "MX",
        "NA",
        5.0,
        (("CMX", 3.0), ("JAL", 1.5), ("NLE", 1.2)),
        _isps((8151, "Telmex", 60.0), (17072, "Totalplay", 40.0)),
        15_000.0,
        1.5,
    ),
    CountryProfile(
        "IN",
        "AS",
        12.0,
        (("MH", 3.0), ("KA", 2.0), ("DL", 2.0), ("TN", 1.8)),
        _isps(
            (55836, "Reliance Jio", 50.0),
            (45609, "Bharti Airtel", 35.0),
            (55410, "Vodafone Idea", 15.0),
        ),
        10_000.0,
        2.0,
    ),
    CountryProfile(
        "JP",
        "AS",
        5.0,
        (("13", 4.0), ("27", 2.0), ("23", 1.2)),
        _isps((4713, "NTT Communications", 45.0), (2516, "KDDI", 30.0), (17676, "SoftBank", 25.0)),
        60_000.0,
        0.9,
    ),
    CountryProfile(
        "AU",
        "OC",
        3.0,
        (("NSW", 3.0), ("VIC", 2.5), ("QLD", 1.8)),
        _isps((1221, "Telstra", 45.0), (4804, "Optus", 30.0), (7545, "TPG Telecom", 25.0)),
        30_000.0,
        1.2,
    ),
    CountryProfile(
        "NG",
        "AF",
        3.0,
        (("LA", 3.0), ("FC", 1.0), ("KN", 0.8)),
        _isps((29465, "MTN Nigeria", 60.0), (36873, "Airtel Nigeria", 40.0)),
        6_000.0,
        2.6,
    ),
)

CDNS: tuple[CdnProfile, ...] = (
    CdnProfile("akamai", 35.0, 1_100.0, 0.45, 0.05, 1_800.0, 0.7, 1_100.0, 0.006, 0.06),
    CdnProfile("cloudfront", 30.0, 1_300.0, 0.5, 0.07, 2_100.0, 0.75, 1_300.0, 0.008, 0.1),
    CdnProfile("fastly", 20.0, 950.0, 0.4, 0.04, 1_500.0, 0.65, 900.0, 0.005, 0.05),
    CdnProfile("cloudflare", 15.0, 1_200.0, 0.5, 0.06, 2_000.0, 0.7, 1_200.0, 0.007, 0.08),
)


def cdn_names() -> tuple[str, ...]:
    """Names of the simulated CDNs, in table order."""
    return tuple(cdn.name for cdn in CDNS)


CONTENT: tuple[ContentItem, ...] = (
    ContentItem("bbb", "Big Buck Bunny", "vod", 596_000, 8.0, "animation", True, "Open Movies"),
    ContentItem("sintel", "Sintel", "vod", 888_000, 6.0, "animation", True, "Open Movies"),
    ContentItem("tos", "Tears of Steel", "vod", 734_000, 5.0, "sci-fi", True, "Open Movies"),
    ContentItem("ed", "Elephants Dream", "vod", 654_000, 3.0, "animation", True, "Open Movies"),
    ContentItem("spring", "Spring", "vod", 464_000, 3.0, "animation", False, "Open Movies"),
    ContentItem("agent327", "Agent 327", "vod", 231_000, 4.0, "animation", False),
    ContentItem("coffee-run", "Coffee Run", "vod", 184_000, 4.0, "animation", False),
    ContentItem("trailer-01", "Harbour Lights (trailer)", "vod", 142_000, 6.0, "trailer", False),
    ContentItem("clip-goal", "Derby highlights", "vod", 95_000, 7.0, "sports", True),
    ContentItem("clip-recipe", "Ten-minute ramen", "vod", 312_000, 4.0, "food", True),
    ContentItem(
        "s01e01", "Northbound, episode 1", "vod", 2_640_000, 5.0, "drama", True, "Northbound"
    ),
    ContentItem(
        "s01e02", "Northbound, episode 2", "vod", 2_580_000, 3.0, "drama", True, "Northbound"
    ),
    ContentItem("doc-reef", "The Living Reef", "vod", 3_120_000, 2.0, "documentary", False),
    ContentItem("movie-atlas", "Atlas of Small Things", "vod", 6_240_000, 3.0, "movie", True),
    ContentItem("movie-relay", "Relay", "vod", 7_380_000, 2.0, "movie", False),
    ContentItem("live-news", "News 24", "live", None, 8.0, "news", True),
    ContentItem("live-stadium", "Stadium Live", "live", None, 7.0, "sports", True),
    ContentItem("live-lofi", "Lo-fi Radio", "live", None, 3.0, "music", False),
    ContentItem("live-nature", "Nature 4K", "live", None, 2.0, "nature", False),
)

LADDER: tuple[Rendition, ...] = (
    Rendition("240p", 240, 400),
    Rendition("360p", 360, 800),
    Rendition("480p", 480, 1_400),
    Rendition("720p", 720, 2_800),
    Rendition("1080p", 1080, 5_000),
    Rendition("1440p", 1440, 8_000),
    Rendition("2160p", 2160, 14_000),
)
"""An H.264/HEVC-style ladder, lowest first; devices cap it at their screen height."""
