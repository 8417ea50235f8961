"""Replay jobs through policies on true intensity and measure what each would have emitted.

Every policy plans all jobs at their submit times with the chosen forecast (``oracle``,
``persistence`` or a forecasting model, see ``model_forecasts``); the simulator then measures
each plan against the *true* intensity: energy is facility power x running time, emissions the
exact integral of power x intensity over every run segment. ``carbon-agnostic`` is always
simulated, as the baseline savings are measured against.

``latency_risk`` plans every policy to a deadline earlier by that share of each job's expected
duration (``policy.margins``); ``duration_error_sigma`` lets jobs run longer or shorter than
planned (``sim.overruns``), which is what makes a margin worth its grams. Both 0 by default:
every job runs exactly as planned.

``replan_every`` re-plans held jobs on fresher forecasts, as the controller does
(``sim.replanning``); off by default: every plan is made once, at submit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np

from carbon_kube.domain.arrays import BoolArray, FloatArray, IntArray
from carbon_kube.energy.power import PowerModel
from carbon_kube.policy import agnostic, spatiotemporal, temporal, threshold
from carbon_kube.policy.capacity import CapacityLimits
from carbon_kube.policy.forecasts import Forecast
from carbon_kube.policy.grids import SECONDS_PER_HOUR, IntensityGrid
from carbon_kube.policy.jobs import JobTable
from carbon_kube.policy.margins import DEFAULT_LATENCY_RISK, check_latency_risk
from carbon_kube.policy.registry import plan_jobs
from carbon_kube.policy.schedules import Schedule, levers
from carbon_kube.sim.model_forecasts import ForecastInputs, build_forecast
from carbon_kube.sim.overruns import DEFAULT_OVERRUN_SEED, actual_durations_s, apply_overruns
from carbon_kube.sim.replanning import plan_with_replanning

BASELINE = agnostic.NAME


@dataclass(frozen=True, slots=True)
class SimulationSettings:
    """Everything a run depends on besides the jobs and the intensity, echoed in reports."""

    policies: tuple[str, ...]
    power: PowerModel
    forecast: str = "oracle"
    forecast_quantile: float = 0.5
    threshold_g_per_kwh: float = threshold.DEFAULT_THRESHOLD_G_PER_KWH
    resume_overhead: timedelta = temporal.DEFAULT_RESUME_OVERHEAD
    pauses: bool = True
    capacity: CapacityLimits | None = None
    latency_risk: float = DEFAULT_LATENCY_RISK
    duration_error_sigma: float = 0.0
    duration_error_seed: int = DEFAULT_OVERRUN_SEED
    replan_every: timedelta | None = None
    # How far a re-plan must move a release to replace the plan (the controller's rule);
    # zero replaces on every re-plan, as this simulator did before it shared the rule.
    replan_tolerance: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        check_latency_risk(self.latency_risk)
        if self.replan_every is not None and self.capacity is not None:
            raise ValueError("re-planning with capacity limits is not modelled; drop one")
        if not self.duration_error_sigma >= 0:
            raise ValueError(f"duration error must be >= 0, got {self.duration_error_sigma}")

    def policy_args(self, name: str) -> object:
        """The typed ``Args`` of policy ``name`` built from these settings."""
        if name == threshold.NAME:
            return threshold.ThresholdArgs(self.threshold_g_per_kwh)
        if name == temporal.NAME:
            return temporal.TemporalArgs(self.pauses, self.resume_overhead)
        if name == spatiotemporal.NAME:
            return spatiotemporal.SpatiotemporalArgs(self.pauses, self.resume_overhead)
        return None


@dataclass(frozen=True, slots=True)
class PolicyOutcome:
    """One policy's plans and what they measured on the true intensity, per job."""

    policy: str
    schedule: Schedule
    power_w: FloatArray
    energy_kwh: FloatArray
    co2_g: FloatArray
    delay_s: FloatArray
    deadline_missed: BoolArray
    lever: IntArray
    seconds: float
    # Per job: grams pausing saved against running on from the same first start in the same
    # zone (0 for a job run in one piece); the rest of its saving is its start lever's.
    pause_saved_g: FloatArray = field(default_factory=lambda: np.zeros(0))


@dataclass(frozen=True, slots=True)
class SimulationResult:
    jobs: JobTable
    settings: SimulationSettings
    baseline: PolicyOutcome
    outcomes: dict[str, PolicyOutcome] = field(default_factory=dict)


def simulate(
    jobs: JobTable,
    truth: IntensityGrid,
    settings: SimulationSettings,
    on_policy_done: Callable[[str], None] | None = None,
    *,
    forecast: Forecast | None = None,
    inputs: ForecastInputs | None = None,
) -> SimulationResult:
    """Plan and measure every requested policy (plus the baseline, once).

    ``forecast`` is the belief built from ``settings`` (and ``inputs``: provider forecasts,
    weather) unless given: a benchmark passes its own to inspect what was believed afterwards
    without fitting a learned model twice.
    """
    if forecast is None:
        forecast = build_forecast(settings.forecast, truth, settings.forecast_quantile, inputs)
    power_w = (
        jobs.cpus * settings.power.watts_per_vcpu + jobs.memory_gib * settings.power.watts_per_gib
    ) * settings.power.pue
    actual_s = actual_durations_s(jobs, settings.duration_error_sigma, settings.duration_error_seed)
    outcomes: dict[str, PolicyOutcome] = {}
    for name in dict.fromkeys((BASELINE, *settings.policies)):
        began = time.perf_counter()
        if settings.replan_every is not None and name != BASELINE:
            schedule, _ = plan_with_replanning(
                name,
                jobs,
                forecast,
                settings.policy_args(name),
                settings.replan_every,
                settings.latency_risk,
                settings.replan_tolerance,
            )
        else:
            schedule = plan_jobs(
                name,
                jobs,
                forecast,
                jobs.submit_s,
                settings.policy_args(name),
                settings.capacity,
                settings.latency_risk,
            )
        outcomes[name] = measure(
            name, jobs, schedule, truth, power_w, time.perf_counter() - began, actual_s
        )
        if on_policy_done is not None:
            on_policy_done(name)
    baseline = outcomes[BASELINE]
    requested = {name: outcomes[name] for name in settings.policies}
    return SimulationResult(jobs, settings, baseline, requested)


def measure(
    name: str,
    jobs: JobTable,
    schedule: Schedule,
    truth: IntensityGrid,
    power_w: FloatArray,
    seconds: float,
    actual_duration_s: FloatArray | None = None,
) -> PolicyOutcome:
    """Energy and true emissions of ``schedule`` (split jobs summed over their segments).

    With ``actual_duration_s`` each run ends when the job really finishes (``sim.overruns``);
    without it, every job runs for exactly its expected duration.
    """
    integral = truth.integral_by_zone(schedule.zone_index, schedule.start_s, schedule.end_s)
    split = schedule.split_rows
    if split.size:
        seg_zone = schedule.zone_index[schedule.segment_rows]
        per_segment = truth.integral_by_zone(
            seg_zone, schedule.segment_start_s, schedule.segment_end_s
        )
        integral[split] = np.bincount(
            schedule.segment_rows, weights=per_segment, minlength=len(jobs)
        )[split]
    power_kw = power_w / 1000.0
    pause_saved_g = np.zeros(len(jobs))
    if split.size:
        unpaused = truth.integral_by_zone(
            schedule.zone_index[split],
            schedule.start_s[split],
            schedule.start_s[split] + jobs.duration_s[split],
        )
        pause_saved_g[split] = power_kw[split] * (unpaused - integral[split])
    run_s = schedule.run_s
    end_s = schedule.end_s
    if actual_duration_s is not None and not np.array_equal(actual_duration_s, jobs.duration_s):
        overrun = apply_overruns(jobs, schedule, truth, actual_duration_s)
        run_s = run_s + overrun.delta_run_s
        end_s = overrun.end_s
        integral = integral + overrun.delta_integral
    return PolicyOutcome(
        policy=name,
        schedule=schedule,
        power_w=power_w,
        energy_kwh=power_kw * run_s / SECONDS_PER_HOUR,
        co2_g=power_kw * integral,
        delay_s=schedule.start_s - jobs.submit_s,
        deadline_missed=end_s > jobs.deadline_s + 1e-6,
        lever=levers(jobs, schedule),
        seconds=seconds,
        pause_saved_g=pause_saved_g,
    )
