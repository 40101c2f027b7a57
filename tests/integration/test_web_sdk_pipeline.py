"""The web SDK in Chromium, real hls.js / dash.js / Video.js, through the whole pipeline.

Runs the SDK's own browser suite (``sdk/web``, ``npm run test:browser``) with its beacons sent
to a real collector, then checks the view records the aggregator made of each case.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from playpipe.kafka.topics import topic_name
from tests.integration.pipeline import Pipeline, read_latest

pytestmark = pytest.mark.kafka

SDK = Path(__file__).resolve().parents[2] / "sdk" / "web"
MEDIA_MS = 8000  # the SDK suite's generated media are 8 s long


def run_browser_suite(collector_url: str) -> dict[str, Any]:
    if not (SDK / "node_modules").is_dir() or shutil.which("npm") is None:
        pytest.fail("the web SDK is not installed: run `make test-web` (npm ci) first")
    env = {**os.environ, "PLAYPIPE_COLLECTOR_URL": collector_url, "PLAYPIPE_PROPERTY_KEY": "demo"}
    result = subprocess.run(
        ["npm", "run", "test:browser"],
        cwd=SDK,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    cases: dict[str, Any] = json.loads((SDK / "test-artifacts" / "browser-events.json").read_text())
    return cases


def view_of(case: dict[str, Any]) -> str:
    views = {e["view_id"] for e in case["events"] if e["event_type"] == "first_frame"}
    views = views or {e["view_id"] for e in case["events"] if e["event_type"] == "view_end"}
    assert len(views) == 1, views
    return views.pop()


@pytest.mark.timeout(900)
def test_real_players_make_the_right_view_records(
    kafka_bootstrap: str, unique_prefix: str, tmp_path: Path
) -> None:
    # Real time: the players pause between beacons, so event time must not run ahead when idle.
    pipeline = Pipeline(kafka_bootstrap, unique_prefix, tmp_path, idle_speed=1).start()
    try:
        cases = run_browser_suite(pipeline.collector.url)
        wanted = {name: view_of(case) for name, case in cases.items()}
        views_topic = topic_name(pipeline.config, "views")
        got = read_latest(
            pipeline.config,
            ["views", "metrics.10s"],
            lambda latest: all(v.encode() in latest[views_topic] for v in wanted.values()),
            quiet_s=5.0,
            timeout_s=240,
        )
    finally:
        pipeline.stop()
    views = {name: got[views_topic].get(view.encode()) for name, view in wanted.items()}
    missing = [name for name, record in views.items() if record is None]
    assert not missing, f"no view record for {missing}"

    for name in ("hls-ok", "dash-ok", "html5-ok", "videojs-ok", "hls-seek", "hls-stall"):
        record = views[name]
        assert record["outcome"] == "ended", (name, record)
        assert record["startup_time_ms"] > 0, name
        played = record["playing_time_ms"] + record["seeking_time_ms"]
        assert abs(played - MEDIA_MS) < 1500 or name == "hls-seek", (name, played)
    for name in ("hls-ok", "dash-ok", "videojs-ok"):
        assert views[name]["avg_bitrate_kbps"], f"{name}: no rendition reported"
    assert views["hls-ok"]["rebuffer_count"] == 0
    assert views["hls-seek"]["rebuffer_count"] == 0 and views["hls-seek"]["seeking_time_ms"] > 0

    stall = views["hls-stall"]
    assert stall["rebuffer_count"] == 1
    assert abs(stall["rebuffering_time_ms"] - cases["hls-stall"]["rebuffer_ms"]) <= 50
    windows = got[topic_name(pipeline.config, "metrics.10s")].values()
    counted = sum(w["rebuffer_count"] for w in windows if w["dimensions"] == {})
    assert counted >= 1, "the rebuffer is not in the windows"

    assert views["hls-missing"]["outcome"] in ("start_failure", "playback_failure")
    assert views["dash-bad-manifest"]["outcome"] == "start_failure"
    assert views["dash-bad-manifest"]["fatal_error"] is not None
