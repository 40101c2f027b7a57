"""Field selection, sampling and the timestamp choice."""

from __future__ import annotations

import random

import pytest

from playpipe.connectors.settings import FieldSelection, WebhookSettings
from playpipe.connectors.transform import (
    FieldSelector,
    SetupError,
    Transform,
    choose_timestamp,
    keeps,
    sample_point,
)


def event(**extra: object) -> dict:
    return {
        "event_id": "e1",
        "event_type": "playing",
        "view_id": "v1",
        "client_ts": 1000,
        "received_at": 2000,
        "event_ts": 1500,
        "player": {"name": "hls.js", "version": "1"},
        "device": {"os": "iOS"},
        **extra,
    }


def settings(**values: object) -> WebhookSettings:
    return WebhookSettings(name="t", url="http://127.0.0.1:1/", **values)  # type: ignore[arg-type]


def test_include_keeps_only_the_paths_and_the_timestamp() -> None:
    select = FieldSelector(FieldSelection(include=["event_id", "player.name"]))
    assert select(event(timestamp=5)) == {
        "event_id": "e1",
        "player": {"name": "hls.js"},
        "timestamp": 5,
    }


def test_exclude_then_rename() -> None:
    selection = FieldSelection(
        exclude=["device", "player.version"], rename={"player.name": "player_name"}
    )
    out = FieldSelector(selection)(event())
    assert "device" not in out
    assert out["player"] == {}
    assert out["player_name"] == "hls.js"


def test_rename_into_a_nested_path_and_missing_paths_are_ignored() -> None:
    out = FieldSelector(FieldSelection(rename={"view_id": "ids.view", "ad.ad_id": "x"}))(event())
    assert out["ids"] == {"view": "v1"} and "view_id" not in out and "x" not in out


@pytest.mark.parametrize(
    ("source", "expected"), [("event", 1500), ("server", 2000), ("client", 1000)]
)
def test_timestamp_choice(source: str, expected: int) -> None:
    assert choose_timestamp(event(), source, 9) == expected


def test_timestamp_falls_back_to_the_kafka_time() -> None:
    assert choose_timestamp({"event_ts": None}, "event", 9) == 9
    assert choose_timestamp({"received_at": 2}, "event", 9) == 2


def test_sampling_is_stable_and_near_the_rate() -> None:
    views = [f"view-{i}" for i in range(20_000)]
    assert [sample_point(v) for v in views[:50]] == [sample_point(v) for v in views[:50]]
    kept = sum(keeps(0.25, v) for v in views)
    assert 4_500 < kept < 5_500
    assert all(keeps(1.0, v) for v in views[:100])
    assert not any(keeps(0.0, v) for v in views[:100])
    # a view kept at a lower rate is kept at every higher rate
    assert all(keeps(0.5, v) for v in views if keeps(0.25, v))


def test_sampling_keeps_or_drops_whole_views() -> None:
    transform = Transform(settings(sample=0.5))
    outcomes: dict[str, set[bool]] = {}
    rng = random.Random(1)
    for i in range(2000):
        view = f"v{rng.randrange(100)}"
        kept = transform.apply(event(view_id=view, event_id=str(i)), 0, None) is not None
        outcomes.setdefault(view, set()).add(kept)
    assert all(len(o) == 1 for o in outcomes.values())
    assert {True, False} == {next(iter(o)) for o in outcomes.values()}


def test_transform_order_and_drop_reason() -> None:
    transform = Transform(
        settings(filter='event_type == "playing"', fields=FieldSelection(include=["event_id"]))
    )
    assert transform.apply(event(), 0, None) == {"event_id": "e1", "timestamp": 1500}
    assert transform.apply(event(event_type="paused"), 0, None) is None
    assert transform.dropped_by == "filter"


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"filter": "event_type =="}, "filter"),
        ({"fields": FieldSelection(include=["plyer.name"])}, "fields.include"),
        ({"fields": FieldSelection(exclude=["device.oss"])}, "fields.exclude"),
        ({"fields": FieldSelection(rename={"nope": "x"})}, 'fields.rename."nope"'),
    ],
)
def test_bad_settings_name_the_key(values: dict, key: str) -> None:
    with pytest.raises(SetupError) as info:
        Transform(settings(**values))
    assert info.value.key == key


def test_other_topics_accept_any_path() -> None:
    Transform(settings(topic="metrics.10s", filter="dimensions.country == 'FR'"))
