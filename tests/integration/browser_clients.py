"""Real clients in headless Chromium against a real pipeline: what the browser tests share.

``tests/browser/cmcd`` (one package.json for every real-client browser test: hls.js, dash.js,
mux-embed, the Snowplow tracker and media plugin, the EPAS web SDK, esbuild and
playwright-core, all pinned) has a node script per family of clients: ``run.mjs`` (hls.js
and dash.js reporting CMCD) and ``sources.mjs`` (mux-embed, Snowplow, EPAS). Each plays
ffmpeg-made media once per case, a few cases at a time in their own pages, with the clients
pointed at the collector, and writes what the browser itself saw per case. :func:`play`
runs one such script against a fresh pipeline and returns that with the view records the
aggregator made; :func:`assert_like_the_browser` is the comparison every case passes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from playpipe.kafka.topics import topic_name
from tests.integration.pipeline import Pipeline, read_latest

HERE = Path(__file__).resolve().parents[1] / "browser" / "cmcd"
STARTUP_TOLERANCE_MS = 250
PLAYING_TOLERANCE_MS = 1000


def run_script(
    script: str, collector_url: str, env: dict[str, str], out: Path, timeout_s: float
) -> dict[str, Any]:
    """``node <script>`` with the collector's URL and ``env``; the results it wrote to ``out``."""
    if not (HERE / "node_modules" / "mux-embed").is_dir() or shutil.which("node") is None:
        pytest.fail("the browser test packages are not installed: run `make test-cmcd-deps`")
    result = subprocess.run(
        ["node", script],
        cwd=HERE,
        env={**os.environ, "PLAYPIPE_COLLECTOR_URL": collector_url, **env},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    # a case that failed fails its own test: the script exits 1 but has written every case
    assert out.exists(), result.stdout[-4000:] + result.stderr[-4000:]
    results: dict[str, Any] = json.loads(out.read_text())
    results["output"] = result.stdout[-4000:] + result.stderr[-4000:]
    return results


def view_records(pipeline: Pipeline, views: set[str]) -> dict[bytes, Any]:
    """The latest record of each view on the views topic, once every one of ``views`` came."""
    views_topic = topic_name(pipeline.config, "views")
    wanted = {view.encode() for view in views}
    got = read_latest(
        pipeline.config,
        ["views"],
        lambda latest: wanted <= set(latest[views_topic]),
        quiet_s=5.0,
        timeout_s=240,
    )
    return got[views_topic]


@dataclass
class Played:
    """One script's run: what it wrote, and the view record of each case that played."""

    run: dict[str, Any]
    """``{"media_s", "stall_ms", "cases": {name: {..., "log": what the browser saw}}}``."""
    views: dict[str, Any]
    """Case name → its view record (None when the aggregator made none)."""
    standardizer_log: str

    @property
    def media_ms(self) -> int:
        return int(self.run["media_s"] * 1000)


def play(
    bootstrap: str,
    work: Path,
    script: str,
    out_env: str,
    view_key: str,
    env: dict[str, str] | None = None,
    timeout_s: float = 900,
) -> Played:
    """``script`` played against a pipeline of its own (started and stopped here).

    ``out_env`` names the variable the script reads its results path from; ``view_key`` is the
    field of a case that holds its view id. A case without one, or whose client was not
    ready (``"ready": "init failed"``), has no view record to wait for.
    """
    out = work / "cases.json"
    pipeline = Pipeline(bootstrap, f"t{uuid.uuid4().hex[:10]}", work, idle_speed=1).start()
    try:
        run = run_script(
            script, pipeline.collector.url, {**(env or {}), out_env: str(out)}, out, timeout_s
        )
        views = {
            name: case[view_key]
            for name, case in run["cases"].items()
            if case.get(view_key) and case.get("ready", "ready") == "ready"
        }
        records = view_records(pipeline, set(views.values()))
    finally:
        pipeline.stop()
    return Played(
        run,
        {name: records.get(view.encode()) for name, view in views.items()},
        pipeline.log("standardizer"),
    )


def assert_like_the_browser(name: str, played: Played) -> tuple[dict[str, Any], dict[str, Any]]:
    """The case played to its end and its view record says so, with the browser's startup
    (click → first ``playing``) and the media's length as playing time. Returns the record
    and what the browser saw, for the checks particular to the case."""
    case = played.run["cases"].get(name)
    assert case is not None, f"{name} did not play: {played.run['output']}"
    assert case["error"] is None, (name, case["error"], played.run["output"])
    record, seen = played.views.get(name), case["log"]
    assert record is not None, f"no view record for {name}; {played.standardizer_log}"
    assert not seen["errors"], (name, seen["errors"])
    assert record["outcome"] == "ended" and record["end_reason"] == "ended", (name, record)
    browser_startup = seen["playing"] - seen["click"]
    assert abs(record["startup_time_ms"] - browser_startup) <= STARTUP_TOLERANCE_MS, (
        name,
        record["startup_time_ms"],
        browser_startup,
    )
    assert abs(record["playing_time_ms"] - played.media_ms) <= PLAYING_TOLERANCE_MS, (
        name,
        record["playing_time_ms"],
    )
    return record, seen
