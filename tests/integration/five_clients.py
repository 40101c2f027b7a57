"""The same play through the five real clients, as one table (docs/sources.md).

``python -m tests.integration.five_clients`` (with ``PLAYPIPE_TEST_BOOTSTRAP`` pointing at a
Kafka) starts a collector, the standardizer and the aggregator, plays the same HLS/DASH media
(``PLAYPIPE_MEDIA_S``, default 20 s) once through each client: dash.js and hls.js reporting
CMCD v2 event mode, mux-embed with hls.js, the Snowplow media plugin and the EPAS web SDK,
and prints each view record's startup time, playing time and outcome beside what the browser
itself saw (click → first ``playing``, first ``playing`` → ``ended``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from tests.integration.browser_clients import run_script, view_records
from tests.integration.pipeline import Pipeline

RUNS = [
    ("run.mjs", "PLAYPIPE_CMCD_CASES", "PLAYPIPE_CMCD_OUT", "dash-ok,hls-ok", "sid"),
    (
        "sources.mjs",
        "PLAYPIPE_SOURCES_CASES",
        "PLAYPIPE_SOURCES_OUT",
        "mux-ok,snowplow-ok,epas-ok",
        "view",
    ),
]
LABELS = {
    "dash-ok": "dash.js 5.2.1, CMCD v2 event mode",
    "hls-ok": "hls.js 1.7.4, CMCD v2 event mode",
    "mux-ok": "mux-embed 5.19.0 + hls.js",
    "snowplow-ok": "Snowplow media plugin 4.6.6 + hls.js",
    "epas-ok": "EPAS web SDK 0.2.0 + hls.js",
}


def play_all(collector: str, work: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """Case name → (view id, browser log) for every client, played one at a time."""
    cases: dict[str, tuple[str, dict[str, Any]]] = {}
    for script, cases_env, out_env, names, view_key in RUNS:
        out = work / f"{script}.json"
        env = {cases_env: names, out_env: str(out), "PLAYPIPE_PARALLEL_CASES": "1"}
        for name, case in run_script(script, collector, env, out, 900)["cases"].items():
            assert case["error"] is None, (name, case["error"])
            cases[name] = (case[view_key], case["log"])
    return cases


def table(cases: dict[str, tuple[str, dict[str, Any]]], views: dict[bytes, Any]) -> str:
    rows = [
        "| client | startup (view record) | startup (browser: click → playing) | playing time "
        "(view record) | playing (browser: playing → ended) | outcome |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, (view, seen) in cases.items():
        record = views.get(view.encode()) or {}
        rows.append(
            f"| {LABELS.get(name, name)} | {record.get('startup_time_ms')} ms "
            f"| {seen['playing'] - seen['click']} ms | {record.get('playing_time_ms')} ms "
            f"| {seen['ended'] - seen['playing']} ms | {record.get('outcome')} |"
        )
    return "\n".join(rows)


def main() -> None:
    bootstrap = os.environ.get("PLAYPIPE_TEST_BOOTSTRAP", "127.0.0.1:9092")
    with tempfile.TemporaryDirectory(prefix="five-clients-") as folder:
        work = Path(folder)
        pipeline = Pipeline(bootstrap, f"t{uuid.uuid4().hex[:10]}", work, idle_speed=1).start()
        try:
            cases = play_all(pipeline.collector.url, work)
            views = view_records(pipeline, {view for view, _ in cases.values()})
        finally:
            pipeline.stop()
    sys.stdout.write(table(cases, views) + "\n")


if __name__ == "__main__":
    main()
