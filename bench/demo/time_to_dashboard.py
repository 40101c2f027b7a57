"""Time from a command (``make demo``) to a live dashboard with every chart filled.

    python bench/demo/time_to_dashboard.py [--api URL] [--timeout S] -- make demo

Runs the command in a session of its own and polls, once a second: the collector's
``/healthz``, the API's ``/healthz`` and dashboard page, then ``/v1/metrics`` over the last
5 minutes in 10 s windows (the dashboard's default view) until each of the eight charts has
a non-zero value, as the dashboard's own browser test checks. Prints the elapsed seconds of
each milestone as one JSON line, then stops the command with SIGTERM (as Ctrl-C would) and
waits for it to exit. Only the standard library and httpx (a playpipe dependency).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time

import httpx

# The dashboard's charts and the metrics each one draws (a chart is filled when one is > 0).
CHARTS: dict[str, tuple[str, ...]] = {
    "plays": ("attempts", "concurrent_viewers"),
    "startup": ("startup_time_p50_ms", "startup_time_p95_ms"),
    "rebuffer": ("rebuffer_ratio",),
    "start failures": ("start_failure_pct",),
    "exits before start": ("exit_before_start_pct",),
    "playback failures": ("playback_failure_pct",),
    "bitrate": ("avg_bitrate_kbps",),
    "score": ("experience_score",),
}


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def filled_charts(api: str) -> set[str]:
    names = ",".join(m for metrics in CHARTS.values() for m in metrics)
    try:
        body = httpx.get(
            f"{api}/v1/metrics",
            params={"name": names, "window": "10s", "from": "-5m", "to": "now"},
            timeout=5,
        ).json()
    except (httpx.HTTPError, ValueError):
        return set()
    series = (body.get("series") or [{}])[0].get("values", {})
    return {
        chart
        for chart, metrics in CHARTS.items()
        if any(v for m in metrics for v in series.get(m, []) if v)
    }


def _wait_group_gone(pgid: int, timeout: float) -> None:
    """``make`` exits at once on SIGTERM; ``playpipe demo`` (same group) takes its time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", default="http://127.0.0.1:8088")
    parser.add_argument("--collector", default="http://127.0.0.1:8080")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--log", default="demo.log", help="Where the command's output goes.")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = [c for c in args.command if c != "--"]
    if not command:
        parser.error("give the command to time after --, e.g. -- make demo")

    began = time.monotonic()
    marks: dict[str, float] = {}
    with open(args.log, "ab") as log:
        proc = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    filled: set[str] = set()
    try:
        while time.monotonic() - began < args.timeout and proc.poll() is None:
            elapsed = round(time.monotonic() - began, 1)
            if "collector_up" not in marks and _ok(f"{args.collector}/healthz"):
                marks["collector_up"] = elapsed
            if "dashboard_up" not in marks and _ok(f"{args.api}/healthz") and _ok(f"{args.api}/"):
                marks["dashboard_up"] = elapsed
            if "dashboard_up" in marks:
                now_filled = filled_charts(args.api)
                if "first_chart" not in marks and now_filled:
                    marks["first_chart"] = elapsed
                filled |= now_filled
                if len(now_filled) == len(CHARTS):
                    marks["every_chart_filled"] = elapsed
                    break
            time.sleep(1.0)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            code = proc.wait(180)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            code = proc.wait(10)
        _wait_group_gone(proc.pid, 180)
    missing = sorted(set(CHARTS) - filled)
    print(json.dumps({"seconds": marks, "exit_code": code, "never_filled": missing}))
    return 0 if "every_chart_filled" in marks else 1


if __name__ == "__main__":
    sys.exit(main())
