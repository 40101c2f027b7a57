"""The population tables: what the collector will make of them, and their shape."""

from __future__ import annotations

import random

import pytest

from playpipe.collector.enrich import UserAgentParser
from playpipe.simulate import SimOptions
from playpipe.simulate.population import draw_view, draw_viewer, new_id
from playpipe.simulate.profiles import CDNS, CONTENT, COUNTRIES, DEVICES, LADDER


@pytest.fixture(scope="module")
def parser() -> UserAgentParser:
    return UserAgentParser()


@pytest.mark.parametrize("device", DEVICES, ids=lambda d: d.key)
def test_declared_device_is_what_the_collector_parses(
    parser: UserAgentParser, device: object
) -> None:
    from playpipe.simulate.profiles import DeviceProfile

    assert isinstance(device, DeviceProfile)
    parsed = parser.parse(device.user_agent)
    assert parsed is not None
    assert (parsed.type, parsed.os, parsed.browser) == (
        device.device_type,
        device.os,
        device.browser,
    )


def test_tables_are_well_formed() -> None:
    assert {d.device_type for d in DEVICES} == {"desktop", "mobile", "tablet", "tv", "console"}
    assert len({d.key for d in DEVICES}) == len(DEVICES)
    for country in COUNTRIES:
        assert len(country.code) == 2 and country.code.isupper()
        assert country.regions and country.isps
        assert len({i.asn for i in country.isps}) == len(country.isps)
    assert len({c.id for c in CONTENT}) == len(CONTENT)
    assert {c.stream_type for c in CONTENT} == {"vod", "live"}
    assert all((c.duration_ms is None) == (c.stream_type == "live") for c in CONTENT)
    assert [r.bitrate_kbps for r in LADDER] == sorted(r.bitrate_kbps for r in LADDER)
    assert len({c.name for c in CDNS}) == len(CDNS)


def test_viewers_and_views_are_drawn_from_the_given_random() -> None:
    a, b = random.Random(1), random.Random(1)
    options = SimOptions()
    va, vb = draw_viewer(a, options), draw_viewer(b, options)
    assert va == vb
    assert draw_view(a, va, "demo") == draw_view(b, vb, "demo")
    setup = draw_view(a, va, "demo")
    assert all(r.height <= va.device.max_height for r in setup.ladder)
    assert setup.dims["cdn"] == setup.network.cdn
    assert len(new_id(a)) == 32


def test_exact_clocks_option() -> None:
    rng = random.Random(2)
    assert {draw_viewer(rng, SimOptions(skewed_clocks=False)).skew_ms for _ in range(50)} == {0}
    skews = [draw_viewer(rng, SimOptions()).skew_ms for _ in range(500)]
    assert any(abs(s) > 3_600_000 for s in skews) and any(abs(s) < 1_000 for s in skews)
