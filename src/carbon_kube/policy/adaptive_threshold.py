"""Adaptive threshold: pick the threshold (and deadline margin) that would have done best lately.

The fixed threshold (200 g/kWh) is miscalibrated wherever the grid never crosses it: in a zone
that is always above (PL, ~700 g/kWh) every job waits to its latest safe start, whatever the
hour; in one that is always below (FR, SE) nothing is ever held. The learner replaces the
constant with a choice made from a **replay buffer** of what was observed recently in one zone:
the true intensity, the jobs that were submitted (expected duration, deadline, power) and, where
known, how long they really ran.

``choose_threshold`` replays the ``threshold`` policy over the buffer for every candidate,
exactly as it would have decided then (the forecast only sees data before each decision), and
measures each on the *observed* intensity and run times:

* candidate thresholds: the fixed default, and the given percentiles of the zone's observed
  intensity in the buffer; candidate margins: ``latency_risks`` (the ``policy.margins`` knob);
* SLA: a candidate may add at most ``max_extra_miss_rate x jobs`` deadline misses to those the
  carbon-agnostic baseline has on the same jobs (misses come from runs longer than expected);
* choice: the lowest replayed emissions among candidates within the SLA, and the default only
  gives way to a candidate that *strictly* beats it. With no jobs in the buffer, the default
  stands. If no candidate meets the SLA, the one with the fewest misses (then lowest emissions).

Deterministic (same buffer, same choice; ties keep the earlier candidate: the default first,
then thresholds ascending, margins ascending). Pure: no I/O, no clock; callers decide when to
refit and what the buffer holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carbon_kube.domain.arrays import FloatArray
from carbon_kube.policy.forecasts import Forecast
from carbon_kube.policy.grids import IntensityGrid
from carbon_kube.policy.jobs import JobTable
from carbon_kube.policy.margins import check_latency_risk
from carbon_kube.policy.registry import plan_jobs
from carbon_kube.policy.threshold import DEFAULT_THRESHOLD_G_PER_KWH, NAME, ThresholdArgs

DEFAULT_PERCENTILES: tuple[float, ...] = (10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0)


@dataclass(frozen=True, slots=True)
class AdaptiveThresholdArgs:
    """The candidates, the SLA and the fixed default the learner must beat."""

    percentiles: tuple[float, ...] = DEFAULT_PERCENTILES
    latency_risks: tuple[float, ...] = (0.0,)
    max_extra_miss_rate: float = 0.0
    default_threshold_g_per_kwh: float = DEFAULT_THRESHOLD_G_PER_KWH
    default_latency_risk: float = 0.0

    def __post_init__(self) -> None:
        if any(not 0.0 <= p <= 100.0 for p in self.percentiles):
            raise ValueError("percentiles must be in [0, 100]")
        if not self.latency_risks:
            raise ValueError("at least one latency risk candidate is needed")
        for risk in (*self.latency_risks, self.default_latency_risk):
            check_latency_risk(risk)
        if not 0.0 <= self.max_extra_miss_rate <= 1.0:
            raise ValueError("max_extra_miss_rate must be in [0, 1]")
        ThresholdArgs(self.default_threshold_g_per_kwh)


@dataclass(frozen=True, slots=True)
class ReplayBuffer:
    """What was observed in one zone: its intensity, its jobs, their power and real run times.

    ``truth`` must cover every job's run (the caller keeps only jobs whose latest possible end
    lies inside it); ``actual_duration_s`` equals ``jobs.duration_s`` when run times were not
    observed. ``zone_index`` is the zone's index in ``truth`` (every job's home).
    ``observed_from_s``/``observed_to_s`` bound the intensity the candidate percentiles are
    drawn from: what was observed in the buffer's span, never what came after it (``truth`` may
    extend further, e.g. a whole year in the simulator).
    """

    truth: IntensityGrid
    forecast: Forecast
    zone_index: int
    jobs: JobTable
    power_kw: FloatArray
    actual_duration_s: FloatArray
    observed_from_s: float
    observed_to_s: float


@dataclass(frozen=True, slots=True)
class ReplayScore:
    """One candidate's replayed outcome over the buffer."""

    threshold_g_per_kwh: float
    latency_risk: float
    co2_g: float
    deadline_misses: int
    mean_delay_s: float


@dataclass(frozen=True, slots=True)
class ThresholdChoice:
    """The chosen knobs, the default's and the baseline's replayed outcomes, and all scores."""

    threshold_g_per_kwh: float
    latency_risk: float
    chosen: ReplayScore | None
    default: ReplayScore | None
    baseline_co2_g: float
    baseline_misses: int
    scores: tuple[ReplayScore, ...]

    @property
    def beats_default(self) -> bool:
        """True when the choice replayed strictly lower emissions than the fixed default."""
        return (
            self.chosen is not None
            and self.default is not None
            and self.chosen.co2_g < self.default.co2_g
        )


def candidate_thresholds(buffer: ReplayBuffer, args: AdaptiveThresholdArgs) -> list[float]:
    """The default first, then the percentiles of the zone's observed intensity, ascending.

    Only the grid steps wholly inside ``[observed_from_s, observed_to_s)`` count; with none,
    the default is the only candidate.
    """
    grid = buffer.truth.grid
    first = max(0, -(-(int(buffer.observed_from_s) - grid.origin_s) // grid.step_s))
    last = min(grid.n_steps, (int(buffer.observed_to_s) - grid.origin_s) // grid.step_s)
    values = buffer.truth.values_g_per_kwh[buffer.zone_index, first:last]
    if values.size == 0:
        return [args.default_threshold_g_per_kwh]
    found = sorted({float(v) for v in np.percentile(values, args.percentiles)})
    return [args.default_threshold_g_per_kwh] + [
        v for v in found if v != args.default_threshold_g_per_kwh
    ]


def replay_score(
    buffer: ReplayBuffer, threshold_g_per_kwh: float, latency_risk: float
) -> ReplayScore:
    """Plan the buffer's jobs with the threshold policy as decided then; measure on the truth."""
    jobs = buffer.jobs
    schedule = plan_jobs(
        NAME,
        jobs,
        buffer.forecast,
        jobs.submit_s,
        ThresholdArgs(threshold_g_per_kwh),
        latency_risk=latency_risk,
    )
    co2_g, misses = _measure(buffer, schedule.start_s)
    delay_s = schedule.start_s - jobs.submit_s
    return ReplayScore(
        threshold_g_per_kwh=threshold_g_per_kwh,
        latency_risk=latency_risk,
        co2_g=co2_g,
        deadline_misses=misses,
        mean_delay_s=float(delay_s.mean()) if delay_s.size else 0.0,
    )


def choose_threshold(buffer: ReplayBuffer, args: AdaptiveThresholdArgs) -> ThresholdChoice:
    """The knobs that minimised replayed emissions within the SLA (see module docstring)."""
    if len(buffer.jobs) == 0:
        # Nothing observed yet: no evidence against the default.
        return ThresholdChoice(
            args.default_threshold_g_per_kwh, args.default_latency_risk, None, None, 0.0, 0, ()
        )
    baseline_co2_g, baseline_misses = _measure(buffer, buffer.jobs.submit_s)
    allowed_misses = baseline_misses + args.max_extra_miss_rate * len(buffer.jobs)
    default = replay_score(buffer, args.default_threshold_g_per_kwh, args.default_latency_risk)
    scores = [default]
    for threshold in candidate_thresholds(buffer, args):
        for risk in sorted(set(args.latency_risks)):
            if (threshold, risk) == (default.threshold_g_per_kwh, default.latency_risk):
                continue
            scores.append(replay_score(buffer, threshold, risk))
    within = [s for s in scores if s.deadline_misses <= allowed_misses]
    if within:
        best = within[0]
        for score in within[1:]:
            if score.co2_g < best.co2_g:
                best = score
    else:
        best = min(scores, key=lambda s: (s.deadline_misses, s.co2_g))
    return ThresholdChoice(
        threshold_g_per_kwh=best.threshold_g_per_kwh,
        latency_risk=best.latency_risk,
        chosen=best,
        default=default,
        baseline_co2_g=baseline_co2_g,
        baseline_misses=baseline_misses,
        scores=tuple(scores),
    )


def _measure(buffer: ReplayBuffer, start_s: FloatArray) -> tuple[float, int]:
    """True grams and deadline misses of runs starting at ``start_s`` for their real time."""
    jobs = buffer.jobs
    end_s = start_s + buffer.actual_duration_s
    data_end_s = float(buffer.truth.grid.end_s)
    integral = buffer.truth.integral(
        buffer.zone_index, np.minimum(start_s, data_end_s), np.minimum(end_s, data_end_s)
    )
    misses = int(np.count_nonzero(end_s > jobs.deadline_s + 1e-6))
    return float((buffer.power_kw * integral).sum()), misses
