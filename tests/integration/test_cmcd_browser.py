"""Real hls.js and dash.js report CMCD v2 event mode to playpipe from headless Chromium.

``tests/browser/cmcd`` (its own package.json: hls.js, dash.js, playwright-core pinned) plays
ffmpeg-made media through each player, with its CMCD event target pointed at a real collector;
this test runs it, then compares the view records the aggregator made with what the browser
itself saw: outcome, startup time (click → first ``playing``), playing time, renditions, the
rebuffer of a held-back segment, and reports refused with 503 that the players retried.
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

HERE = Path(__file__).resolve().parents[1] / "browser" / "cmcd"
STARTUP_TOLERANCE_MS = 250
PLAYING_TOLERANCE_MS = 1000
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


def run_players(collector_url: str, out: Path) -> dict[str, Any]:
    if not (HERE / "node_modules").is_dir() or shutil.which("node") is None:
        pytest.fail("the CMCD browser test is not installed: run `make test-cmcd-deps` (npm ci)")
    env = {**os.environ, "PLAYPIPE_COLLECTOR_URL": collector_url, "PLAYPIPE_CMCD_OUT": str(out)}
    result = subprocess.run(
        ["node", "run.mjs"],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    cases: dict[str, Any] = json.loads(out.read_text())
    return cases


@pytest.mark.timeout(1500)
def test_hls_js_and_dash_js_cmcd_reports_make_the_right_view_records(
    kafka_bootstrap: str, unique_prefix: str, tmp_path: Path
) -> None:
    pipeline = Pipeline(kafka_bootstrap, unique_prefix, tmp_path, idle_speed=1).start()
    try:
        run = run_players(pipeline.collector.url, tmp_path / "cases.json")
        cases = run["cases"]
        views_topic = topic_name(pipeline.config, "views")
        wanted = {case["sid"].encode() for case in cases.values()}
        got = read_latest(
            pipeline.config,
            ["views"],
            lambda latest: wanted <= set(latest[views_topic]),
            quiet_s=5.0,
            timeout_s=240,
        )
    finally:
        pipeline.stop()
    views = {name: got[views_topic].get(case["sid"].encode()) for name, case in cases.items()}
    missing = [name for name, record in views.items() if record is None]
    assert not missing, f"no view record for {missing}; {pipeline.log('standardizer')}"
    media_ms = run["media_s"] * 1000
    summary = {
        name: {
            "browser_startup_ms": case["log"]["playing"] - case["log"]["click"],
            "browser_play_ms": case["log"]["ended"] - case["log"]["playing"],
            "browser_waits_ms": [end - start for start, end in case["log"]["waits"]],
            "record": {k: views[name][k] for k in SUMMARY_FIELDS},
        }
        for name, case in cases.items()
    }
    (HERE / "test-artifacts").mkdir(exist_ok=True)
    (HERE / "test-artifacts" / "cmcd-views.json").write_text(json.dumps(summary, indent=2))

    for name, case in cases.items():
        record, seen = views[name], case["log"]
        assert case["error"] is None and not seen["errors"], (name, case["error"], seen["errors"])
        assert record["outcome"] == "ended" and record["end_reason"] == "ended", (name, record)
        browser_startup = seen["playing"] - seen["click"]
        assert abs(record["startup_time_ms"] - browser_startup) <= STARTUP_TOLERANCE_MS, (
            name,
            record["startup_time_ms"],
            browser_startup,
        )
        assert abs(record["playing_time_ms"] - media_ms) <= PLAYING_TOLERANCE_MS, (
            name,
            record["playing_time_ms"],
        )
        # renditions: every switch the player made is counted, the average is a ladder value
        switches = sum(
            1 for a, b in zip(seen["renditions"], seen["renditions"][1:], strict=False) if a != b
        )
        assert record["upshifts"] + record["downshifts"] == switches, (name, record, seen)
        shown = [r for r in seen["renditions"] if r > 0]
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

    for name in ("hls-stall", "dash-stall"):
        assert cases[name]["log"]["waits"], f"{name}: the held-back segment made no wait"
    assert max(end - start for start, end in cases["dash-stall"]["log"]["waits"]) >= 2000

    for name in ("hls-503", "dash-503"):
        gateway = cases[name]["gateway"]
        assert gateway["refused"], f"{name}: the gateway refused nothing"
        accepted = {
            line
            for forwarded in gateway["forwarded"]
            if forwarded["status"] < 300
            for line in forwarded["body"].splitlines()
        }
        lost = [
            line
            for body in gateway["refused"]
            for line in body.splitlines()
            if line not in accepted
        ]
        assert not lost, f"{name}: refused reports never retried: {lost}"
