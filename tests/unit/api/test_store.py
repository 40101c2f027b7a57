"""The DuckDB store: upserts by revision, views by id, offsets, reopening."""

from __future__ import annotations

from pathlib import Path

from playpipe.api.store import Batch, MetricsStore
from tests.unit.api.harness import NOW, fill
from tests.unit.api.synth import view, window


def starts_of(store: MetricsStore) -> dict[str, tuple[int, int]]:
    rows = store.query("SELECT wkey, revision, starts FROM windows")
    return {k: (r, s) for k, r, s in rows}


def test_highest_revision_wins(store: MetricsStore) -> None:
    dims = {"cdn": "akamai"}
    fill(store, [window(NOW, dims, revision=0, starts=3), window(NOW, dims, revision=2, starts=9)])
    fill(store, [window(NOW, dims, revision=1, starts=5)])  # late, lower: ignored
    assert starts_of(store) == {f"10s|{NOW}|cdn=akamai": (2, 9)}
    fill(store, [window(NOW, dims, revision=3, starts=11)])
    assert starts_of(store) == {f"10s|{NOW}|cdn=akamai": (3, 11)}


def test_write_reports_what_changed(store: MetricsStore) -> None:
    batch = Batch()
    fill(store, [window(NOW, {}, revision=4)])
    from playpipe.api.records import decode_window

    batch.windows = [
        decode_window(b'{"window":"10s","window_start_ms":%d,"revision":3}' % NOW),
        decode_window(b'{"window":"10s","window_start_ms":%d,"revision":0}' % (NOW + 10_000)),
    ]
    result = store.write(batch)
    assert [(w.window_start_ms, w.revision) for w in result.windows] == [(NOW + 10_000, 0)]


def test_dimension_keys_are_canonical(store: MetricsStore) -> None:
    fill(
        store,
        [
            window(NOW, {"country": "FR", "cdn": "a"}),
            window(NOW, {"cdn": "a", "country": "FR"}, revision=1),
        ],
    )
    assert store.query("SELECT wkey, dim_set, revision FROM windows") == [
        (f"10s|{NOW}|cdn=a,country=FR", "cdn,country", 1)
    ]
    assert store.dim_sets == {"10s": {"cdn,country"}}


def test_views_upsert_and_keep_the_record(store: MetricsStore) -> None:
    fill(store, views=[view("v1", NOW, outcome="abandoned"), view("v1", NOW, outcome="ended")])
    fill(store, views=[view("v2", NOW, custom={"tier": "gold"}, asn=12)])
    rows = store.query("SELECT view_id, outcome, dims['asn'], dims['tier'] FROM views ORDER BY 1")
    assert rows == [("v1", "ended", "3215", None), ("v2", "ended", "12", "gold")]
    assert "tier" in store.dimension_names


def test_offsets_persist_with_the_rows(tmp_path: Path) -> None:
    store = MetricsStore.in_dir(tmp_path)
    batch = Batch(offsets={("p.views", 0): 10, ("p.metrics.10s", 2): 4})
    store.write(batch)
    store.write(Batch(offsets={("p.views", 0): 12}))
    store.close()
    reopened = MetricsStore.in_dir(tmp_path)
    assert reopened.offsets() == {("p.views", 0): 12, ("p.metrics.10s", 2): 4}
    reopened.close()


def test_reopen_knows_dimension_sets(tmp_path: Path) -> None:
    store = MetricsStore.in_dir(tmp_path)
    fill(store, [window(NOW, {"cdn": "a"}, "1m")], [view("v", NOW, custom={"tier": "x"})])
    store.close()
    reopened = MetricsStore.in_dir(tmp_path)
    assert reopened.dim_sets == {"1m": {"cdn"}}
    assert "tier" in reopened.dimension_names
    reopened.close()


def test_prune_by_age(store: MetricsStore) -> None:
    day = 86_400_000
    fill(store, [window(NOW - 40 * day, {}), window(NOW, {})], [view("old", NOW - 40 * day)])
    assert store.prune(30) == 2
    assert store.query("SELECT count(*) FROM windows") == [(1,)]
