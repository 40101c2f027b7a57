"""Shared generated runs (generation is deterministic, so one per session is enough)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from playpipe.dictionary import Event
from playpipe.simulate import Generation, ScheduledBatch, WindowTruth, generate
from playpipe.simulate.options import DegradeSpec


@dataclass
class Run:
    gen: Generation
    batches: list[ScheduledBatch]
    _windows: list[WindowTruth] = field(default_factory=list)

    def windows(self) -> list[WindowTruth]:
        """The window truth, computed once."""
        if not self._windows:
            self._windows = self.gen.windows()
        return self._windows

    def events(self) -> list[Event]:
        """Every generated event once (lost ones included, duplicate copies excluded)."""
        return [e for b in self.batches if not b.duplicate for e in b.events]

    def skew_of(self) -> dict[str, int]:
        """viewer_id -> the viewer's clock skew."""
        return {b.viewer_id: b.skew_ms for b in self.batches}


def _run(gen: Generation) -> Run:
    return Run(gen, list(gen))


@pytest.fixture(scope="session")
def run() -> Run:
    """A mixed run: 150 viewer slots for 30 simulated minutes, some loss, a degraded CDN."""
    return _run(
        generate(
            150,
            1800,
            seed=11,
            lost_batch_share=0.05,
            duplicate_share=0.05,
            degrade=DegradeSpec("cloudfront", at_s=900),
            include_lost=True,
        )
    )
