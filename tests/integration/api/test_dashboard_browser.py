"""The dashboard in headless Chromium, served by the real ``playpipe api`` over real Kafka.

The store is filled with known windows and views (CDN fastly is the slowest to start); the
browser is driven by ``src/playpipe/dashboard/web/test/dashboard.mjs`` (playwright-core with
the system Chromium); screenshots go to ``test-artifacts/dashboard/``.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from playpipe.config import Config
from playpipe.kafka.topics import apply_topics
from tests.integration.api.browser import ARTIFACTS, require_browser, run_driver
from tests.integration.api.kafka_io import ApiProcess, produce, wait_for
from tests.unit.api.synth import synthetic_views, synthetic_windows

pytestmark = pytest.mark.kafka


def test_dashboard_in_chromium(kafka_config: Config, tmp_path: Path) -> None:
    require_browser()
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

        def on_line(line: str) -> None:
            if line == "ready-for-live":
                current = int(time.time() * 1000) // 10_000 * 10_000
                produce(kafka_config, synthetic_windows(current, 1, seed=99))

        run = run_driver(
            f"{api.url}/",
            ARTIFACTS / "dashboard",
            {"PLAYPIPE_EXPECT_WORST": "fastly"},
            on_line,
            timeout=300,
        )
        assert run.code == 0, run.text + "\n--- api log ---\n" + api.log()
        assert len(run.report["checks"]) >= 9
        for shot in run.report["screenshots"]:
            assert Path(shot).stat().st_size > 10_000
    finally:
        api.kill()
