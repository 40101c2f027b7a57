"""mux-embed, the Snowplow media plugin and the EPAS web SDK report to playpipe from Chromium.

``tests/browser/cmcd/sources.mjs`` plays an ffmpeg-made HLS ladder through hls.js with one
client per case pointed at a real collector (see ``browser_clients``); the tests compare the
view records the aggregator made with what the browser itself saw: outcome, startup time
(click → first ``playing``), playing time, renditions, the rebuffer of a held-back segment,
and beacons refused with 503 (retried by mux-embed and the Snowplow tracker; the EPAS SDK
never retries, see docs/sources.md).
"""

from __future__ import annotations

import pytest

from tests.integration.browser_clients import (
    STARTUP_TOLERANCE_MS,
    Played,
    assert_like_the_browser,
    play,
)

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(1800)]

CLIENTS = ["mux", "snowplow", "epas"]
PLAYED = [f"{client}-{media}" for client in CLIENTS for media in ("ok", "stall")]
RETRIED = ["mux-503", "snowplow-503"]
CASES = [*PLAYED, *RETRIED, "epas-503"]


@pytest.fixture(scope="module")
def played(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Played:
    work = tmp_path_factory.mktemp("sources-browser")
    env = {"PLAYPIPE_SOURCES_CASES": ",".join(CASES)}
    return play(kafka_bootstrap, work, "sources.mjs", "PLAYPIPE_SOURCES_OUT", "view", env, 1200)


@pytest.mark.parametrize("name", [*PLAYED, *RETRIED])
def test_the_view_record_is_what_the_browser_saw(played: Played, name: str) -> None:
    record, seen = assert_like_the_browser(name, played)
    shown = [r for r in seen["renditions"] if r > 0]
    assert record["avg_bitrate_kbps"] is not None, name
    assert min(shown) * 0.9 <= record["avg_bitrate_kbps"] <= max(shown) * 1.2, (name, record)
    # a rebuffer is what the browser waited for, held-back segment or not; waits the
    # client filters out (mux-embed ignores stalls under its minimum) are short ones
    waits = [end - start for start, end in seen["waits"]]
    longer = [w for w in waits if w > STARTUP_TOLERANCE_MS]
    assert len(longer) <= record["rebuffer_count"] <= len(waits), (name, record, waits)
    assert abs(record["rebuffering_time_ms"] - sum(waits)) <= STARTUP_TOLERANCE_MS, (
        name,
        record["rebuffering_time_ms"],
        waits,
    )
    if name.endswith("-stall"):
        assert max(waits, default=0) >= 1000, f"{name}: the held-back segment made no wait"


@pytest.mark.parametrize("name", RETRIED)
def test_beacons_refused_with_503_are_sent_again(played: Played, name: str) -> None:
    case = played.run["cases"][name]
    assert case["gateway"]["refused"], f"{name}: the gateway refused nothing"
    assert not case["lost"], f"{name}: refused beacons not retried: {case['lost']}"


def test_the_epas_sdk_stays_off_when_its_init_is_refused(played: Played) -> None:
    case = played.run["cases"]["epas-503"]
    assert case["ready"] == "init failed"
    assert case["gateway"]["forwarded"] == []
