"""The truth against the aggregator, in process: same rules, same numbers.

Events are stamped as the collector would with exact client clocks (``event_ts`` =
``client_ts``, device from the User-Agent) and fed in send order; with no batch lost and
none held back past the view's end, every view record and every window must equal the
truth (a window missing on one side must be all zeros on the other).
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from playpipe.collector.enrich import UserAgentParser
from playpipe.simulate import SimOptions, generate
from playpipe.streams.aggregation import Aggregation
from playpipe.streams.aggsettings import AggregationSettings
from tests.unit.simulate.compare import VIEW_FIELDS, WINDOW_FIELDS, same


@pytest.mark.timeout(300)
def test_truth_equals_the_aggregator() -> None:
    options = SimOptions(skewed_clocks=False, late_share=0.0)
    gen = generate(40, 900, 17, options=options, duplicate_share=0.05)
    parser = UserAgentParser()
    agg = Aggregation(AggregationSettings())
    records, windows = [], []
    watermark = 0
    for batch in gen:
        device = parser.parse(batch.user_agent)
        for event in batch.events:
            copy = msgspec.structs.replace(event, device=device, event_ts=event.client_ts)
            agg.add(copy)
            watermark = max(watermark, event.client_ts)
        out = agg.advance(watermark)
        records += out.views
        windows += out.windows
    for step in range(1, 100):
        out = agg.advance(watermark + step * 10_000)
        records += out.views
        windows += out.windows

    truth = {v.view_id: v for v in gen.views}
    assert sorted(r.view_id for r in records) == sorted(truth)
    for record in records:
        view = truth[record.view_id]
        for name in VIEW_FIELDS:
            assert same(getattr(record, name), getattr(view, name)), (record.view_id, name)
        for name in ("cdn", "country", "device_type", "os", "browser", "content_id", "asn"):
            assert getattr(record, name) == view.dims[name], (record.view_id, name)

    final: dict[Any, Any] = {
        (w.size_ms, tuple(w.dimensions.items()), w.window_start_ms): w for w in windows
    }
    mine: dict[Any, Any] = {
        (w.window_ms, tuple(w.dims.items()), w.start_ms): w for w in gen.windows()
    }
    for key in final.keys() | mine.keys():
        got, want = final.get(key), mine.get(key)
        for name in WINDOW_FIELDS:
            a = getattr(got, name) if got is not None else None
            b = getattr(want, name) if want is not None else None
            if got is None or want is None:
                assert not (a or b), (key, name)
            else:
                assert same(a, b), (key, name, a, b)
