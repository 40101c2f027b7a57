"""Run the dashboard's browser driver (``src/playpipe/dashboard/web/test/dashboard.mjs``).

It drives headless Chromium with playwright-core, prints one line per check and ends with a
JSON report; screenshots go to the folder given.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
WEB = ROOT / "src" / "playpipe" / "dashboard" / "web"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("PLAYPIPE_CHROMIUM", "/usr/bin/chromium")


def require_browser() -> None:
    """Skip (or, in CI, fail) with what to install when the browser test cannot run."""
    missing = []
    if not (WEB / "node_modules" / "playwright-core").is_dir():
        missing.append(f"playwright-core (run `npm ci` in {WEB.relative_to(ROOT)})")
    if not Path(CHROMIUM).exists():
        missing.append(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    if shutil.which("node") is None:
        missing.append("node (apt-get install nodejs npm)")
    if missing:
        message = "The dashboard browser test needs " + ", ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class DriverRun:
    code: int
    lines: list[str]
    report: dict[str, Any]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def run_driver(
    url: str,
    artifacts: Path,
    env: dict[str, str] | None = None,
    on_line: Callable[[str], None] = lambda line: None,
    timeout: float = 600.0,
) -> DriverRun:
    """Open ``url`` in Chromium and run every check; ``on_line`` sees each progress line."""
    artifacts.mkdir(parents=True, exist_ok=True)
    driver = subprocess.Popen(
        ["node", str(WEB / "test" / "dashboard.mjs")],
        cwd=WEB,
        env={
            **os.environ,
            "PLAYPIPE_DASHBOARD_URL": url,
            "PLAYPIPE_ARTIFACTS": str(artifacts),
            "PLAYPIPE_CHROMIUM": CHROMIUM,
            **(env or {}),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert driver.stdout is not None
    try:
        for line in driver.stdout:
            lines.append(line.rstrip("\n"))
            on_line(line.strip())
        code = driver.wait(timeout)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait(10)
    report = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    return DriverRun(code, lines, report)
