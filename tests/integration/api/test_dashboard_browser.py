"""The dashboard in headless Chromium, served by the real ``playpipe api`` over real Kafka.

The browser is driven by ``src/playpipe/dashboard/web/test/dashboard.mjs`` (playwright-core
with the system Chromium); screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from playpipe.config import Config
from playpipe.kafka.topics import apply_topics
from tests.integration.api.kafka_io import ApiProcess, produce, wait_for
from tests.unit.api.synth import synthetic_views, synthetic_windows

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).resolve().parents[3]
WEB = ROOT / "src" / "playpipe" / "dashboard" / "web"
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
CHROMIUM = os.environ.get("PLAYPIPE_CHROMIUM", "/usr/bin/chromium")


def _require_browser() -> None:
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


def test_dashboard_in_chromium(kafka_config: Config, tmp_path: Path) -> None:
    _require_browser()
    apply_topics(kafka_config)
    now10 = int(time.time() * 1000) // 10_000 * 10_000
    total = produce(
        kafka_config,
        synthetic_windows(now10 - 290_000, 29),
        synthetic_views(int(time.time() * 1000), 120),
    )
    api = ApiProcess(kafka_config, tmp_path)
    try:
        wait_for(
            lambda: httpx.get(f"{api.url}/healthz", timeout=5).json()["records"] >= total,
            90,
            "the store to hold every record",
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver = subprocess.Popen(
            ["node", str(WEB / "test" / "dashboard.mjs")],
            cwd=WEB,
            env={
                **os.environ,
                "PLAYPIPE_DASHBOARD_URL": f"{api.url}/",
                "PLAYPIPE_ARTIFACTS": str(ARTIFACTS),
                "PLAYPIPE_CHROMIUM": CHROMIUM,
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: list[str] = []
        assert driver.stdout is not None
        for line in driver.stdout:
            lines.append(line.rstrip("\n"))
            if line.strip() == "ready-for-live":
                current = int(time.time() * 1000) // 10_000 * 10_000
                produce(kafka_config, synthetic_windows(current, 1, seed=99))
        code = driver.wait(300)
        report = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
        assert code == 0, "\n".join(lines) + "\n--- api log ---\n" + api.log()
        assert len(report["checks"]) >= 8
        for shot in report["screenshots"]:
            assert Path(shot).stat().st_size > 10_000
    finally:
        api.kill()
