"""The standardizer's order: each view's events by ``seq``, views interleaved as they came."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from playpipe.streams.standardizer import order_within_views
from tests.unit.streams.scripts import View


def test_views_keep_their_places_and_each_view_is_sorted_by_seq() -> None:
    a, b = View("a"), View("b")
    a1, a2, a3 = a(1_000, "heartbeat"), a(11_000, "heartbeat"), a(21_000, "heartbeat")
    b1, b2 = b(2_000, "heartbeat"), b(12_000, "heartbeat")
    # Arrival: a3, b1, a1, b2, a2 (a's batches out of order).
    got = order_within_views([a3, b1, a1, b2, a2])
    assert [(e.view_id, e.seq) for e in got] == [
        ("a", a1.seq),
        ("b", b1.seq),
        ("a", a2.seq),
        ("b", b2.seq),
        ("a", a3.seq),
    ]


def test_a_large_round_does_not_group_views() -> None:
    """A restarted standardizer reads a backlog in one round: a view's later events must not
    come before another view's earlier ones that arrived before them."""
    views = [View(f"v{i}") for i in range(3)]
    arrived = [views[i % 3](10_000 * (i // 3), "heartbeat") for i in range(30)]
    got = order_within_views(arrived)
    assert got == arrived
    times = [e.client_ts for e in got]
    assert times == sorted(times)


@given(st.lists(st.integers(min_value=0, max_value=3), max_size=40), st.randoms())
def test_a_permutation_that_sorts_only_within_views(owners: list[int], rnd: object) -> None:
    views = [View(f"v{i}") for i in range(4)]
    events = [views[o](1_000 * n, "heartbeat") for n, o in enumerate(owners)]
    rnd.shuffle(events)  # type: ignore[attr-defined]
    got = order_within_views(events)
    assert [e.view_id for e in got] == [e.view_id for e in events]
    for view in views:
        mine = [e.seq for e in got if e.view_id == view.view_id]
        assert mine == sorted(mine)
    assert sorted(e.event_id for e in got) == sorted(e.event_id for e in events)
