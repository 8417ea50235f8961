"""Walk-forward replay of the adaptive threshold against the fixed default, on held-out periods.

Time is cut into refit periods (``refit_every``). At the start ``p`` of each period the learner
(``policy.adaptive_threshold``) sees a replay buffer of the ``buffer`` span before ``p``: the
zone's true intensity and the jobs submitted in it whose runs had finished by ``p`` under any
plan, with their real run times. It picks a threshold (and margin); the jobs submitted during
the period, which it has never seen, are then planned with that choice and measured on the true
intensity. The fixed default plans the same held-out jobs, and so does the carbon-agnostic
baseline, so the three figures compare like with like. The first ``buffer`` span is warm-up:
its jobs are in no figure.

Every plan is decided at its job's submit time on the same forecast (``persistence`` by
default: only data before the decision), one home zone per run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np

from carbon_kube.domain.arrays import FloatArray
from carbon_kube.policy.adaptive_threshold import (
    AdaptiveThresholdArgs,
    ReplayBuffer,
    ThresholdChoice,
    choose_threshold,
)
from carbon_kube.policy.forecasts import Forecast
from carbon_kube.policy.grids import IntensityGrid
from carbon_kube.policy.jobs import JobTable
from carbon_kube.policy.registry import plan_jobs
from carbon_kube.policy.threshold import NAME, ThresholdArgs
from carbon_kube.sim.model_forecasts import build_forecast


@dataclass(frozen=True, slots=True)
class WalkForwardSettings:
    """Buffer span, refit period, forecast and the learner's candidates and SLA."""

    buffer: timedelta = timedelta(days=14)
    refit_every: timedelta = timedelta(days=7)
    forecast: str = "persistence"
    args: AdaptiveThresholdArgs = field(default_factory=AdaptiveThresholdArgs)

    def __post_init__(self) -> None:
        if self.buffer <= timedelta(0) or self.refit_every <= timedelta(0):
            raise ValueError("buffer and refit period must be positive")


@dataclass(frozen=True, slots=True)
class PolicyFigures:
    """One way of planning the held-out jobs, measured."""

    co2_g: float
    deadline_misses: int
    mean_delay_s: float


@dataclass(frozen=True, slots=True)
class WalkForwardResult:
    """Held-out figures for baseline, fixed default and adaptive, and every period's choice."""

    held_out_jobs: int
    baseline: PolicyFigures
    fixed: PolicyFigures
    adaptive: PolicyFigures
    choices: tuple[ThresholdChoice, ...]

    def avoided_pct(self, figures: PolicyFigures) -> float:
        """Emissions avoided against the carbon-agnostic baseline, in %."""
        if self.baseline.co2_g <= 0:
            return 0.0
        return 100.0 * (self.baseline.co2_g - figures.co2_g) / self.baseline.co2_g


def walk_forward(
    jobs: JobTable,
    truth: IntensityGrid,
    power_w: FloatArray,
    actual_duration_s: FloatArray,
    settings: WalkForwardSettings,
) -> WalkForwardResult:
    """Replay adaptive vs fixed over held-out periods (see module docstring).

    Every job must have the same home zone; ``actual_duration_s`` is how long each really runs
    (``jobs.duration_s`` for no duration error).
    """
    zones = np.unique(jobs.home_zone)
    if zones.size > 1:
        raise ValueError("walk_forward replays one home zone at a time")
    zone_index = int(zones[0]) if zones.size else 0
    forecast = build_forecast(settings.forecast, truth, 0.5)
    power_kw = power_w / 1000.0
    buffer_s = settings.buffer.total_seconds()
    period_s = settings.refit_every.total_seconds()
    # A run under any plan ends by its latest start (or submit) plus its real duration.
    latest_end_s = np.maximum(jobs.latest_start_s, jobs.submit_s) + actual_duration_s
    first_s = float(truth.grid.origin_s) + buffer_s
    args = settings.args
    adaptive_start = np.full(len(jobs), np.nan)
    choices = []
    period_start_s = first_s
    last_submit_s = float(jobs.submit_s.max()) if len(jobs) else first_s
    while period_start_s <= last_submit_s:
        seen = np.flatnonzero(
            (jobs.submit_s >= period_start_s - buffer_s) & (latest_end_s <= period_start_s)
        )
        buffer = ReplayBuffer(
            truth=truth,
            forecast=forecast,
            zone_index=zone_index,
            jobs=jobs.take(seen),
            power_kw=power_kw[seen],
            actual_duration_s=actual_duration_s[seen],
            observed_from_s=period_start_s - buffer_s,
            observed_to_s=period_start_s,
        )
        choice = choose_threshold(buffer, args)
        choices.append(choice)
        held = np.flatnonzero(
            (jobs.submit_s >= period_start_s) & (jobs.submit_s < period_start_s + period_s)
        )
        if held.size:
            adaptive_start[held] = _plan_starts(
                jobs.take(held), forecast, choice.threshold_g_per_kwh, choice.latency_risk
            )
        period_start_s += period_s
    held_out = np.flatnonzero(jobs.submit_s >= first_s)
    held_jobs = jobs.take(held_out)
    fixed_start = _plan_starts(
        held_jobs, forecast, args.default_threshold_g_per_kwh, args.default_latency_risk
    )

    def figures(start_s: FloatArray) -> PolicyFigures:
        return _measure(
            truth, zone_index, held_jobs, power_kw[held_out], actual_duration_s[held_out], start_s
        )

    return WalkForwardResult(
        held_out_jobs=int(held_out.size),
        baseline=figures(held_jobs.submit_s),
        fixed=figures(fixed_start),
        adaptive=figures(adaptive_start[held_out]),
        choices=tuple(choices),
    )


def _plan_starts(
    jobs: JobTable, forecast: Forecast, threshold_g_per_kwh: float, latency_risk: float
) -> FloatArray:
    schedule = plan_jobs(
        NAME,
        jobs,
        forecast,
        jobs.submit_s,
        ThresholdArgs(threshold_g_per_kwh),
        latency_risk=latency_risk,
    )
    return schedule.start_s


def _measure(
    truth: IntensityGrid,
    zone_index: int,
    jobs: JobTable,
    power_kw: FloatArray,
    actual_s: FloatArray,
    start_s: FloatArray,
) -> PolicyFigures:
    end_s = start_s + actual_s
    data_end_s = float(truth.grid.end_s)
    integral = truth.integral(
        zone_index, np.minimum(start_s, data_end_s), np.minimum(end_s, data_end_s)
    )
    delay_s = start_s - jobs.submit_s
    return PolicyFigures(
        co2_g=float((power_kw * integral).sum()),
        deadline_misses=int(np.count_nonzero(end_s > jobs.deadline_s + 1e-6)),
        mean_delay_s=float(delay_s.mean()) if delay_s.size else 0.0,
    )
