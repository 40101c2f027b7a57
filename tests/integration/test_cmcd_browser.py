"""Real hls.js and dash.js report CMCD v2 event mode to playpipe from headless Chromium.

``tests/browser/cmcd/run.mjs`` plays ffmpeg-made media through each player, with its CMCD
event target pointed at a real collector (see ``browser_clients``); the tests compare the
view records the aggregator made with what the browser itself saw: outcome, startup time
(click → first ``playing``), playing time, renditions, the rebuffer of a held-back segment,
and reports refused with 503 that the players retried.
"""

from __future__ import annotations

import json
from itertools import pairwise

import pytest

from tests.integration.browser_clients import (
    HERE,
    STARTUP_TOLERANCE_MS,
    Played,
    assert_like_the_browser,
    play,
)

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(1500)]

CASES = ["hls-ok", "dash-ok", "hls-stall", "dash-stall", "hls-503", "dash-503"]
SUMMARY_FIELDS = (
    "outcome",
    "startup_time_ms",
    "playing_time_ms",
    "rebuffer_count",
    "rebuffering_time_ms",
    "avg_bitrate_kbps",
    "upshifts",
    "downshifts",
)


@pytest.fixture(scope="module")
def played(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Played:
    work = tmp_path_factory.mktemp("cmcd-browser")
    env = {"PLAYPIPE_CMCD_CASES": ",".join(CASES)}
    result = play(kafka_bootstrap, work, "run.mjs", "PLAYPIPE_CMCD_OUT", "sid", env)
    _write_summary(result)
    return result


def _write_summary(played: Played) -> None:
    """Browser against view record per case, for docs/sources.md."""
    summary = {
        name: {
            "browser_startup_ms": case["log"]["playing"] - case["log"]["click"],
            "browser_play_ms": case["log"]["ended"] - case["log"]["playing"],
            "browser_waits_ms": [end - start for start, end in case["log"]["waits"]],
            "record": {k: record[k] for k in SUMMARY_FIELDS},
        }
        for name, case in played.run["cases"].items()
        if (record := played.views.get(name)) and case["log"]["ended"] is not None
    }
    (HERE / "test-artifacts").mkdir(exist_ok=True)
    (HERE / "test-artifacts" / "cmcd-views.json").write_text(json.dumps(summary, indent=2))


@pytest.mark.parametrize("name", CASES)
def test_the_view_record_is_what_the_browser_saw(played: Played, name: str) -> None:
    record, seen = assert_like_the_browser(name, played)
    # renditions: every switch the player made is counted, the average is a ladder value
    renditions = seen["renditions"]
    switches = sum(1 for a, b in pairwise(renditions) if a != b)
    assert record["upshifts"] + record["downshifts"] == switches, (name, record, seen)
    shown = [r for r in renditions if r > 0]
    assert record["avg_bitrate_kbps"] is not None, name
    assert min(shown) - 1 <= record["avg_bitrate_kbps"] <= max(shown) + 1, (name, record)
    # rebuffers: as many as the browser saw (a loaded machine can make any case wait)
    waits = seen["waits"]
    assert record["rebuffer_count"] == len(waits), (name, record, waits)
    stalled = sum(end - start for start, end in waits)
    assert abs(record["rebuffering_time_ms"] - stalled) <= STARTUP_TOLERANCE_MS, (
        name,
        record["rebuffering_time_ms"],
        stalled,
    )


@pytest.mark.parametrize("name", ["hls-stall", "dash-stall"])
def test_a_held_back_segment_makes_the_player_wait(played: Played, name: str) -> None:
    waits = played.run["cases"][name]["log"]["waits"]
    assert waits, f"{name}: the held-back segment made no wait"
    if name == "dash-stall":
        assert max(end - start for start, end in waits) >= 2000


@pytest.mark.parametrize("name", ["hls-503", "dash-503"])
def test_reports_refused_with_503_are_sent_again(played: Played, name: str) -> None:
    gateway = played.run["cases"][name]["gateway"]
    assert gateway["refused"], f"{name}: the gateway refused nothing"
    accepted = {
        line
        for forwarded in gateway["forwarded"]
        if forwarded["status"] < 300
        for line in forwarded["body"].splitlines()
    }
    lost = [
        line for body in gateway["refused"] for line in body.splitlines() if line not in accepted
    ]
    assert not lost, f"{name}: refused reports never retried: {lost}"
