"""The dashboard in headless Chromium during a short, real ``playpipe demo``.

``playpipe demo`` runs the whole pipeline (collector, standardizer, aggregator, the default
Parquet connectors, the API) against the test Kafka with a hundred simulated viewers, CDN
fastly degrading after 20 s. The browser picks the last hour, waits until every chart shows
data (failures included), checks live
updates, sorts the CDN breakdown by startup p95, clicks the worst CDN and checks that every
panel follows, then opens a view's timeline. Screenshots: ``test-artifacts/demo/``. Then the
demo is stopped with SIGTERM and every component must exit cleanly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.api.browser import ARTIFACTS, require_browser, run_driver
from tests.integration.up_proc import UpProcess

pytestmark = pytest.mark.kafka

COMPONENTS = {
    "collector",
    "standardizer",
    "aggregator",
    "connect events-parquet",
    "connect views-parquet",
    "api",
}


def test_dashboard_during_a_real_demo(
    kafka_bootstrap: str, unique_prefix: str, tmp_path: Path
) -> None:
    require_browser()
    demo = UpProcess(
        "demo",
        kafka_bootstrap,
        unique_prefix,
        tmp_path / "demo",
        ("--viewers", "100", "--degrade", "fastly@20", "--duration", "1200"),
    )
    try:
        demo.wait_healthy()
        run = run_driver(
            f"{demo.api_url}/",
            ARTIFACTS / "demo",
            # Failures are rare events: over the last hour every one since the start counts.
            {"PLAYPIPE_RANGE": "1h", "PLAYPIPE_CHARTS_TIMEOUT_MS": "300000"},
            timeout=720,
        )
        assert run.code == 0, run.text + "\n" + demo.logs()
        names = [c["name"] for c in run.report["checks"]]
        assert "view list filtered too" in names
        assert "view timeline shows states and milestones" in names
        for shot in run.report["screenshots"]:
            assert Path(shot).stat().st_size > 10_000
        assert demo.terminate() == 0, demo.logs()
        assert demo.stopped_components() == dict.fromkeys(COMPONENTS, 0), demo.logs()
        assert "All components stopped." in demo.output()
        parquet = demo.workdir / ".playpipe" / "data"
        assert list((parquet / "events").rglob("*.parquet")), demo.logs()
        assert list((parquet / "views").rglob("*.parquet")), demo.logs()
    finally:
        demo.kill()
