"""Every knob of the simulator, with its default; and the CDN degradation switch."""

from __future__ import annotations

from dataclasses import dataclass, field

from playpipe.simulate.profiles import cdn_names

__all__ = ["DEFAULT_DIMENSION_SETS", "DEFAULT_START_MS", "DegradeSpec", "SimOptions"]

DEFAULT_START_MS = 1_767_225_600_000
"""2026-01-01T00:00:00Z: where :func:`~playpipe.simulate.generate` starts simulated time."""

DEFAULT_DIMENSION_SETS: tuple[tuple[str, ...], ...] = (
    (),
    ("cdn",),
    ("country",),
    ("device_type",),
    ("cdn", "country", "device_type"),
)
"""Dimension sets of the true window aggregates (the aggregator's defaults); ``()`` is the
whole population."""


@dataclass(frozen=True, slots=True)
class DegradeSpec:
    """From ``at_s`` seconds of simulated time on, ``cdn`` gets much worse.

    New play attempts on it start ``startup_factor`` times slower and fail to start
    ``failure_factor`` times more often; from that instant every view on it (running ones
    too) stalls ``rebuffer_factor`` times more often, stalls last ``rebuffer_length_factor``
    times longer and fails during playback ``failure_factor`` times more often.
    """

    cdn: str
    at_s: float
    startup_factor: float = 4.0
    rebuffer_factor: float = 10.0
    rebuffer_length_factor: float = 2.0
    failure_factor: float = 4.0

    def __post_init__(self) -> None:
        if self.cdn not in cdn_names():
            known = ", ".join(cdn_names())
            raise ValueError(f"unknown CDN {self.cdn!r} to degrade; the simulator has {known}")
        if self.at_s < 0:
            raise ValueError(f"degrade time must be >= 0 s, got {self.at_s}")

    @classmethod
    def parse(cls, text: str) -> DegradeSpec:
        """Read ``CDN@SECONDS``, e.g. ``fastly@300`` (the CLI form)."""
        cdn, sep, at = text.partition("@")
        try:
            seconds = float(at)
        except ValueError:
            seconds = -1.0
        if not sep or seconds < 0:
            raise ValueError(f"expected CDN@SECONDS such as fastly@300, got {text!r}")
        return cls(cdn.strip(), seconds)

    def at_ms(self, start_ms: int) -> int:
        """The degradation instant on the simulated clock."""
        return start_ms + round(self.at_s * 1000)


@dataclass(frozen=True, slots=True)
class SimOptions:
    """Knobs of the population, the players, the batching and the sender.

    Durations are milliseconds of simulated time unless the name ends in ``_s`` (sender
    settings in real seconds). Rates are per minute of the state they happen in.
    """

    # -- player / SDK -----------------------------------------------------------------------
    heartbeat_ms: int = 10_000
    """Heartbeat period while playing or rebuffering."""
    flush_interval_ms: int = 3_000
    """A viewer's buffered events are sent this long after the first of them was buffered."""
    max_batch_events: int = 20
    """A batch is sent as soon as it holds this many events (events of one instant stay
    together, so a batch may hold a few more)."""
    # -- network ----------------------------------------------------------------------------
    network_delay_median_ms: float = 60.0
    """Median delay between a flush and the request (a floor plus an exponential tail)."""
    late_share: float = 0.03
    """Share of batches held back (mobile radio, offline queue): they arrive out of order."""
    late_delay_ms: tuple[int, int] = (2_000, 20_000)
    duplicate_delay_ms: tuple[int, int] = (200, 5_000)
    """How long after the first copy a duplicated batch is sent again."""
    # -- viewers ----------------------------------------------------------------------------
    ramp_ms: int = 30_000
    """Viewers of the first wave arrive uniformly over this span."""
    arrival_gap_mean_ms: float = 5_000.0
    """Mean gap before a new viewer takes the place of one who left."""
    views_per_viewer_mean: float = 2.0
    between_views_ms: tuple[int, int] = (1_000, 15_000)
    # -- behaviour --------------------------------------------------------------------------
    no_attempt_share: float = 0.03
    """Views where the player loads and the viewer never presses play."""
    autoplay_share: float = 0.25
    ad_share: float = 0.4
    """Share of views of ad-supported content that get a pre-roll break."""
    ad_exit_share: float = 0.04
    """Chance that the viewer leaves during each pre-roll ad."""
    start_failure_scale: float = 1.0
    """Multiplies every CDN's share of attempts that fail before the first frame (the demo
    turns it up so that a few minutes already show some)."""
    playback_failure_scale: float = 1.0
    """Multiplies every CDN's rate of fatal errors during playback."""
    business_failure_share: float = 0.004
    """Attempts refused by policy (geo-block, entitlement) before the first frame."""
    business_failure_after_start_share: float = 0.001
    """Views stopped by policy (concurrent-stream limit) after the first frame."""
    patience_median_ms: float = 9_000.0
    """How long a viewer waits for the first frame before leaving (log-normal)."""
    max_startup_ms: int = 20_000
    """Longest startup: no view stays silent in startup longer than this."""
    completion_share: float = 0.45
    """Share of VoD views whose viewer means to watch to the end."""
    live_watch_median_ms: float = 360_000.0
    silent_leave_share: float = 0.25
    """Share of mid-play exits that send no ``view_end`` (the page dies; the pipeline times
    the view out)."""
    pauses_per_min: float = 0.06
    pause_median_ms: float = 8_000.0
    max_pause_ms: int = 45_000
    """Longest pause, below the pipeline's 60 s view timeout."""
    seeks_per_min: float = 0.05
    abr_switches_per_min: float = 0.6
    warnings_per_min: float = 0.02
    max_rebuffer_ms: int = 40_000
    # -- client clocks ----------------------------------------------------------------------
    skewed_clocks: bool = True
    """Viewers' clocks are off (else every client clock is exact, and a collector's corrected
    time equals the true time exactly: see docs/simulator.md, "true time")."""
    skew_sd_ms: float = 250.0
    """Spread of the ordinary clock error (normal, most viewers)."""
    skew_minutes_share: float = 0.2
    """Viewers whose clock is off by seconds to minutes."""
    skew_hours_share: float = 0.04
    """Viewers whose clock is off by hours (wrong time zone handling)."""
    # -- sender (real time) -----------------------------------------------------------------
    max_in_flight: int = 32
    request_timeout_s: float = 10.0
    max_attempts: int = 30
    retry_deadline_s: float = 300.0
    """A batch not accepted within this long after its first attempt is given up."""
    backoff_base_s: float = 0.2
    backoff_max_s: float = 10.0
    # -- ground truth -----------------------------------------------------------------------
    windows_ms: tuple[int, ...] = (10_000, 60_000)
    dimension_sets: tuple[tuple[str, ...], ...] = field(
        default_factory=lambda: DEFAULT_DIMENSION_SETS
    )

    def __post_init__(self) -> None:
        for name in ("heartbeat_ms", "flush_interval_ms", "max_batch_events", "max_in_flight"):
            if getattr(self, name) <= 0:
                raise ValueError(f"SimOptions.{name} must be > 0")
        if self.max_pause_ms >= 60_000 or self.max_startup_ms >= 25_000:
            raise ValueError(
                "SimOptions.max_pause_ms must stay below the 60 s view timeout and "
                "max_startup_ms below the 25 s concurrency timeout"
            )
        if self.heartbeat_ms >= 25_000:
            raise ValueError("SimOptions.heartbeat_ms must stay below the 25 s concurrency timeout")
        for name in ("heartbeat_ms", "flush_interval_ms", "max_pause_ms", "max_startup_ms"):
            if getattr(self, name) % 10:
                raise ValueError(f"SimOptions.{name} must be a multiple of 10 ms (the time grid)")
        if any(size <= 0 for size in self.windows_ms):
            raise ValueError("SimOptions.windows_ms must be positive window sizes")
