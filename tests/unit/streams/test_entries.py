"""Retained timeline entries: narrow while every value fits, wide (exact) otherwise."""

from __future__ import annotations

import msgspec

from playpipe.streams import timeline as tl
from playpipe.streams.viewstate import NARROW, View, pack, pack_one, retained_count, unpack


def _view() -> View:
    return View("v1", 0, [], tl.Fold(), entry_size=NARROW)


def test_entries_stay_narrow_while_they_fit() -> None:
    v = _view()
    pack_one(v, 1_795_686_018_903, 7, tl.FIRST_FRAME, 4_500_000)
    pack_one(v, 1_795_686_019_000, 8, tl.BITRATE, -1)
    assert v.entry_size == NARROW and len(v.retained) == 2 * NARROW
    assert unpack(v) == [
        (1_795_686_018_903, 7, tl.FIRST_FRAME, 4_500_000),
        (1_795_686_019_000, 8, tl.BITRATE, -1),
    ]


def test_a_value_beyond_narrow_widens_every_entry() -> None:
    for seq, br in ((2**32, 800_000), (9, 2**31), (2**40, 2**50)):
        v = _view()
        pack_one(v, 1000, 7, tl.FIRST_FRAME, 800_000)
        pack_one(v, 2000, seq, tl.BITRATE, br)
        assert v.entry_size > NARROW and retained_count(v) == 2
        assert unpack(v) == [(1000, 7, tl.FIRST_FRAME, 800_000), (2000, seq, tl.BITRATE, br)]
        pack(v, unpack(v)[1:])  # a checkpoint keeps them wide
        assert unpack(v) == [(2000, seq, tl.BITRATE, br)]


def test_a_view_saved_before_narrow_entries_reads_wide() -> None:
    saved = msgspec.msgpack.decode(msgspec.msgpack.encode(_view()))[:-1]  # no entry_size
    v = msgspec.msgpack.decode(msgspec.msgpack.encode(saved), type=View)
    pack(v, [(1000, 7, tl.FIRST_FRAME, 800_000)])
    assert len(v.retained) == 25 and unpack(v) == [(1000, 7, tl.FIRST_FRAME, 800_000)]
