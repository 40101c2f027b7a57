"""Simulated viewers whose true quality of experience is known.

The simulator plays views on a simulated clock, sends the dictionary events a player SDK
would send to a collector, and writes the ground truth: what each view truly did, and the
window aggregates of docs/metrics.md computed from those true timelines::

    from playpipe.simulate import DegradeSpec, generate, run_simulation

    summary = run_simulation("http://127.0.0.1:8080", viewers=200, duration_s=600,
                             time_scale=1, seed=7, truth_path=Path("truth.jsonl"),
                             degrade=DegradeSpec("fastly", at_s=300))

    gen = generate(viewers=1000, duration_s=3600, seed=7)   # no HTTP, no wall clock
    for batch in gen:                                       # in send order
        produce(batch.send_ms, batch.events)
    gen.write_truth(Path("truth.jsonl"))

The model, every knob and the truth files are described in docs/simulator.md.
"""

from __future__ import annotations

from playpipe.simulate.aggregates import WindowAccumulator, WindowTruth, window_label
from playpipe.simulate.batching import ScheduledBatch
from playpipe.simulate.files import (
    TruthFiles,
    load_timelines,
    recompute,
    timelines_path,
    windows_path,
    write_truth,
)
from playpipe.simulate.generate import Generation, GenerationStats, generate
from playpipe.simulate.options import (
    DEFAULT_DIMENSION_SETS,
    DEFAULT_START_MS,
    DegradeSpec,
    SimOptions,
)
from playpipe.simulate.run import Summary, run_simulation, run_simulation_async
from playpipe.simulate.timeline import BatchFlags, Timeline, rebase
from playpipe.simulate.truth import OUTCOMES, ViewTruth, view_truth

__all__ = [
    "DEFAULT_DIMENSION_SETS",
    "DEFAULT_START_MS",
    "OUTCOMES",
    "BatchFlags",
    "DegradeSpec",
    "Generation",
    "GenerationStats",
    "ScheduledBatch",
    "SimOptions",
    "Summary",
    "Timeline",
    "TruthFiles",
    "ViewTruth",
    "WindowAccumulator",
    "WindowTruth",
    "generate",
    "load_timelines",
    "rebase",
    "recompute",
    "run_simulation",
    "run_simulation_async",
    "timelines_path",
    "view_truth",
    "window_label",
    "windows_path",
    "write_truth",
]
