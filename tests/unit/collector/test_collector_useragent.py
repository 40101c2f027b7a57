"""User-Agent parsing into the dictionary's device node, and the device type rules."""

from __future__ import annotations

import pytest

from playpipe.collector.enrich import MAX_USER_AGENT, UserAgentParser, device_type
from playpipe.dictionary import DeviceNode


@pytest.fixture(scope="module")
def parser() -> UserAgentParser:
    return UserAgentParser(cache_size=100)


IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)

DEVICE_TYPES = [
    (IPHONE, "mobile"),
    (
        "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/16.6 Mobile/15E148 Safari/604.1",
        "tablet",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Mobile Safari/537.36",
        "mobile",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        "tablet",
    ),
    (
        "Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Silk/118.4.1 like Chrome/118.0.5993.144 Safari/537.36",
        "tablet",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        "desktop",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4 Safari/605.1.15",
        "desktop",
    ),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", "desktop"),
    (
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        "desktop",
    ),
    (
        "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/2.2 Chrome/85.0.4183.93 TV Safari/537.36",
        "tv",
    ),
    (
        "Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/79.0.3945.79 Safari/537.36 WebAppManager",
        "tv",
    ),
    ("AppleCoreMedia/1.0.0.20L563 (Apple TV; U; CPU OS 16_5 like Mac OS X; en_us)", "tv"),
    ("Roku/DVP-12.5 (12.5.0.4178-AE)", "tv"),
    (
        "Mozilla/5.0 (X11; Linux armv7l) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/90.0.4430.225 Safari/537.36 CrKey/1.56.500000",
        "tv",
    ),
    (
        "Mozilla/5.0 (Linux; Android 9; AFTMM Build/PS7633) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/120.0.6099.230 Mobile Safari/537.36",
        "tv",
    ),
    (
        "Mozilla/5.0 (Linux; Andr0id 9; BRAVIA 4K UR2 Build/PTT1.190515.001.S52) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/94.0.4606.61 Safari/537.36",
        "tv",
    ),
    (
        "Mozilla/5.0 (PlayStation; PlayStation 5/6.50) AppleWebKit/605.1.15 (KHTML, like Gecko)",
        "console",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox Series X) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/48.0.2564.82 Safari/537.36 Edge/20.02",
        "console",
    ),
    (
        "Mozilla/5.0 (Nintendo Switch; WifiWebAuthApplet) AppleWebKit/606.4 (KHTML, like Gecko) "
        "NF/6.0.1.15.4 NintendoBrowser/5.1.0.20393",
        "console",
    ),
    ("curl/8.5.0", "other"),
    ("Googlebot/2.1 (+http://www.google.com/bot.html)", "other"),
]


@pytest.mark.parametrize(("ua", "expected"), DEVICE_TYPES)
def test_device_type(parser: UserAgentParser, ua: str, expected: str) -> None:
    device = parser.parse(ua)
    assert device is not None
    assert device.type == expected


def test_iphone_fields(parser: UserAgentParser) -> None:
    assert parser.parse(IPHONE) == DeviceNode(
        type="mobile",
        os="iOS",
        os_version="17.5",
        browser="Mobile Safari",
        browser_version="17.5",
        model="iPhone",
        manufacturer="Apple",
    )


def test_generic_brands_are_not_manufacturers(parser: UserAgentParser) -> None:
    device = parser.parse(DEVICE_TYPES[3][0])  # Samsung tablet reported as a generic brand
    assert device is not None
    assert device.model == "SM-X700"
    assert device.manufacturer is None
    assert device.os_version == "13"
    assert device.browser_version == "124.0.0.0"


def test_empty_user_agent_is_no_device(parser: UserAgentParser) -> None:
    assert parser.parse("") is None
    assert parser.parse("   ") is None


def test_results_are_cached(parser: UserAgentParser) -> None:
    first = parser.parse(IPHONE)
    assert parser.parse(IPHONE) is first


def test_huge_user_agent_is_cut(parser: UserAgentParser) -> None:
    device = parser.parse(IPHONE + " x" * 100_000)
    assert device is not None
    assert device.type == "mobile"
    assert parser.parse(IPHONE[:10] + "é" * (MAX_USER_AGENT * 2)) is not None


def test_rules_without_the_parser() -> None:
    assert device_type("anything", None, "PlayStation 4", "Sony") == "console"
    assert device_type("anything", None, "Samsung SMART-TV", None) == "tv"
    assert device_type("anything", "Android", None, None) == "tablet"
    assert device_type("x Mobile y", "Android", None, None) == "mobile"
    assert device_type("anything", "iOS", None, None) == "mobile"
    assert device_type("anything", "FreeBSD", None, None) == "desktop"
    assert device_type("anything", None, "Mac", "Apple") == "desktop"
    assert device_type("anything", None, None, None) == "other"
