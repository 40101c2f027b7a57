"""mux-embed, the Snowplow media plugin and the EPAS web SDK report to playpipe from Chromium.

``tests/browser/cmcd`` (one package.json for every real-client browser test: hls.js, dash.js,
mux-embed, the Snowplow tracker and media plugin, the EPAS web SDK, esbuild and
playwright-core, all pinned) has ``sources.mjs``: it plays an ffmpeg-made HLS ladder through
hls.js with one client at a time pointed at a real collector. This test runs it, then compares
the view records the aggregator made with what the browser itself saw: outcome, startup time
(click → first ``playing``), playing time, renditions, the rebuffer of a held-back segment,
and beacons refused with 503 (retried by mux-embed and the Snowplow tracker; the EPAS SDK
never retries, see docs/sources.md).
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


def run_clients(collector_url: str, out: Path) -> dict[str, Any]:
    if not (HERE / "node_modules" / "mux-embed").is_dir() or shutil.which("node") is None:
        pytest.fail("the browser test packages are not installed: run `make test-cmcd-deps`")
    env = {**os.environ, "PLAYPIPE_COLLECTOR_URL": collector_url, "PLAYPIPE_SOURCES_OUT": str(out)}
    result = subprocess.run(
        ["node", "sources.mjs"],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    cases: dict[str, Any] = json.loads(out.read_text())
    return cases


def played_cases(cases: dict[str, Any]) -> dict[str, Any]:
    return {name: case for name, case in cases.items() if case["ready"] == "ready"}


@pytest.mark.timeout(1800)
def test_third_party_clients_make_the_right_view_records(
    kafka_bootstrap: str, unique_prefix: str, tmp_path: Path
) -> None:
    pipeline = Pipeline(kafka_bootstrap, unique_prefix, tmp_path, idle_speed=1).start()
    try:
        run = run_clients(pipeline.collector.url, tmp_path / "cases.json")
        cases = played_cases(run["cases"])
        views_topic = topic_name(pipeline.config, "views")
        wanted = {case["view"].encode() for case in cases.values()}
        got = read_latest(
            pipeline.config,
            ["views"],
            lambda latest: wanted <= set(latest[views_topic]),
            quiet_s=5.0,
            timeout_s=240,
        )
    finally:
        pipeline.stop()
    (tmp_path / "views.json").write_text(
        json.dumps({k.decode(): v for k, v in got[views_topic].items()})
    )
    views: dict[str, Any] = {
        name: got[views_topic].get(case["view"].encode()) for name, case in cases.items()
    }
    missing = [name for name, record in views.items() if record is None]
    assert not missing, f"no view record for {missing}; {pipeline.log('standardizer')}"
    media_ms = run["media_s"] * 1000

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
        if case["media"] == "stall":
            assert max(waits, default=0) >= 1000, f"{name}: the held-back segment made no wait"

    ran = run["cases"]
    for name in ("mux-503", "snowplow-503"):
        if name in ran:  # PLAYPIPE_SOURCES_CASES may pick a subset
            assert ran[name]["gateway"]["refused"], f"{name}: the gateway refused nothing"
            assert not ran[name]["lost"], (
                f"{name}: refused beacons not retried: {ran[name]['lost']}"
            )
    if "epas-503" in ran:
        # the EPAS web SDK does not retry: its init refused, it stays off for the session
        assert ran["epas-503"]["ready"] == "init failed"
        assert ran["epas-503"]["gateway"]["forwarded"] == []
