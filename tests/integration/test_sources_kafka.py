"""Mux, Snowplow and EPAS beacons through the real collector, Kafka and standardizer, and
``playpipe replay --from-raw`` of the same raw records."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from playpipe.streams.replay_raw import replay_raw
from playpipe.streams.runner import StreamRunner
from playpipe.streams.standardizer import Standardizer
from tests.integration.collector_proc import CollectorProcess
from tests.integration.test_standardizer import config_for, read_all
from tests.unit.sources.recorded_play import load

pytestmark = pytest.mark.kafka

PLAYS: list[tuple[str, dict[str, Any]]] = [
    ("mux", load("mux-embed-5.19.0.json")["plays"]["ok"]),
    ("snowplow", load("snowplow-media-4.6.6.json")["plays"]["post"]),
    ("snowplow", load("snowplow-media-4.6.6.json")["plays"]["get"]),
    ("epas", load("epas-web-0.2.0.json")["plays"]["ok"]),
]
BAD_MUX = {"events": [{"e": "play", "xsqno": 1, "uti": 1_700_000_000_000}]}  # no view id


def post_all(url: str) -> None:
    with httpx.Client(base_url=url, timeout=10) as http:
        for _, play in PLAYS:
            for r in play["requests"]:
                target = r["path"] + (f"?{r['query']}" if r["query"] else "")
                answer = http.request(r["method"], target, content=r["body"], headers=r["headers"])
                assert answer.status_code == 200, answer.text
        bad = http.post(
            "/v1/mux", content=json.dumps(BAD_MUX), headers={"content-type": "text/plain"}
        )
        assert bad.status_code == 200  # framing does not validate: rejected alone, later


def by_source(out: list[tuple[bytes, bytes, list[Any]]]) -> Counter[str]:
    return Counter(msgspec.json.decode(value)["source"] for _, value, _ in out)


@pytest.mark.timeout(300)
def test_beacons_map_through_kafka_and_replay_gives_the_same_ids(
    kafka_bootstrap: str, unique_prefix: str, tmp_path: Path
) -> None:
    config = config_for(kafka_bootstrap, unique_prefix)
    collector = CollectorProcess(kafka_bootstrap, unique_prefix, tmp_path / "spool").start()
    since = int(time.time() * 1000) - 1000
    try:
        post_all(collector.url)
    finally:
        collector.stop()

    stage = Standardizer(config)
    runner = StreamRunner(config, stage, f"{unique_prefix}-std", [stage.raw_topic])
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    try:
        first = read_all(config, "events", 59)
        invalid = read_all(config, "beacons.invalid", 1)
    finally:
        runner.stop.set()
        thread.join(30)
    assert by_source(first) == {"mux": 28, "snowplow": 20, "epas": 11}
    [(_, _, headers)] = invalid
    reasons = dict(headers)
    assert reasons["playpipe.format"] == b"mux" and b"view id" in reasons["playpipe.reason"]
    first_ids = [msgspec.json.decode(v)["event_id"] for _, v, _ in first]
    assert len(set(first_ids)) == len(first_ids)

    report = replay_raw(config, since)
    assert report.events == len(first_ids)
    assert list(report.unmappable.values()) == [1]
    everything = read_all(config, "events", 2 * len(first_ids))
    ids = Counter(msgspec.json.decode(v)["event_id"] for _, v, _ in everything)
    assert set(ids) == set(first_ids) and set(ids.values()) == {2}, "same ids, each twice"


def test_the_cli_names_a_bad_time() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "playpipe", "replay", "--from-raw", "--since", "yesterday"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "'yesterday' is not a time" in result.stdout + result.stderr
