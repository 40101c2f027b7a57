"""Fixtures of the API unit tests: a store with ten minutes of synthetic data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from playpipe.api.store import MetricsStore
from tests.unit.api.harness import NOW, fill, memory_store
from tests.unit.api.synth import synthetic_views, synthetic_windows

FIRST = NOW - 600_000


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MetricsStore]:
    s = memory_store(tmp_path)
    yield s
    s.close()


@pytest.fixture
def filled(store: MetricsStore) -> MetricsStore:
    """60 windows of 10 s for the default dimension sets, and 80 views."""
    fill(store, synthetic_windows(FIRST, 60), synthetic_views(NOW, 80))
    return store
