"""One contract, every connector: delivery, batching, filter, fields, sampling, DLQ headers.

Real services where they exist here: the session Kafka, a PostgreSQL started for the
session, Parquet files on disk, and real HTTP servers in-process for the webhook and the
Datadog, Elasticsearch and Amplitude look-alikes (which check the vendor's format).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from playpipe.config import Config
from playpipe.connectors.dlq import parse_headers
from playpipe.connectors.transform import keeps
from playpipe.kafka.topics import topic_name
from tests.integration.connectors.harness import (
    create_topic,
    make_events,
    produce,
    read_topic,
    running,
    wait_for,
)
from tests.integration.connectors.targets import KINDS, TARGETS, Target

pytestmark = pytest.mark.kafka


@pytest.fixture(params=KINDS)
def target(
    request: pytest.FixtureRequest, kafka_config: Config, tmp_path: Path
) -> Iterator[Target]:
    dsn = request.getfixturevalue("postgres_dsn") if request.param == "postgres" else None
    create_topic(kafka_config)
    made = TARGETS[request.param](kafka_config, tmp_path, dsn)
    try:
        yield made
    finally:
        made.close()


def ids(records: list[dict]) -> list[str]:
    return sorted(r["event_id"] for r in records)


def test_delivers_every_event_in_bounded_batches_and_dead_letters_the_broken(
    target: Target, kafka_config: Config
) -> None:
    events = make_events(120)
    produce(kafka_config, events, extra=[b"{not json"])
    settings = target.settings("sink", batch={"max_events": 7, "max_age_ms": 200})
    with running(kafka_config, settings):
        wait_for(lambda: len(target.delivered(len(events))) >= len(events), what="delivery")
    assert ids(target.delivered(len(events))) == ids(events)  # every event, exactly once
    sizes = target.batch_sizes()
    if sizes is not None:
        assert max(sizes) <= 7 and sum(sizes) == len(events)
    dead = read_topic(kafka_config, topic_name(kafka_config, "dlq.sink"), 1)
    assert len(dead) == 1 and dead[0].value() == b"{not json"
    headers = parse_headers(dead[0].headers())
    assert headers["playpipe.error.class"] == "TerminalError"
    assert "not JSON" in headers["playpipe.error.message"]
    assert headers["playpipe.error.attempts"] == "1"
    assert headers["playpipe.source.topic"] == topic_name(kafka_config, "events")
    assert int(headers["playpipe.source.offset"]) >= 0
    assert headers["playpipe.source.partition"] in {"0", "1", "2"}
    assert headers["playpipe.connector"] == "sink"
    assert int(headers["playpipe.error.timestamp"]) > 0


def test_filter_fields_and_sampling_of_whole_views(target: Target, kafka_config: Config) -> None:
    events = make_events(240, views=24)
    produce(kafka_config, events)
    settings = target.settings(
        "sink",
        filter='event_type != "paused" and player.name == "hls.js"',
        sample=0.5,
        fields={"exclude": ["device"], "rename": {"player.name": "player_name"}},
        batch={"max_age_ms": 200},
    )
    expected = [e for e in events if e["event_type"] != "paused" and keeps(0.5, e["view_id"])]
    assert 0 < len(expected) < len(events)
    with running(kafka_config, settings):
        wait_for(lambda: len(target.delivered(len(expected))) >= len(expected), what="delivery")
    got = target.delivered(len(expected))
    assert ids(got) == ids(expected)
    assert all("device" not in r for r in got)
    assert all(r["player_name"] == "hls.js" and "name" not in r.get("player", {}) for r in got)
    assert all(isinstance(r["timestamp"], int) for r in got)
    per_view: dict[str, int] = defaultdict(int)
    for record in got:
        per_view[record["view_id"]] += 1
    wanted: dict[str, int] = defaultdict(int)
    for event in expected:
        wanted[event["view_id"]] += 1
    assert per_view == wanted  # views are kept whole or dropped whole
