"""Duration error: jobs that run longer (or shorter) than the duration they were planned with.

Policies plan with each job's *expected* duration. Real jobs do not keep to it, and that is what
turns a plan to the latest safe start into a deadline miss. None of the job traces we ship pair
an estimate with an actual runtime, so the error is a stated assumption, not data::

    actual duration = expected duration x exp(sigma x z),  z ~ N(0, 1) per job (seeded)

(a median-unbiased log-normal error: half the jobs overrun). The draws depend only on the seed
and the job order, so every policy, the carbon-agnostic baseline included, runs the same job for
the same actual time and the comparison stays fair. ``sigma = 0`` is no error (today's results).

A run's end moves by ``actual - expected``; for a job split into pauses only its last segment
stretches or shrinks (never below zero). Emissions of the stretch are integrated in the job's
zone; a stretch past the end of the intensity data is counted in time (deadline misses) but not
in grams, as there is no data to count it with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carbon_kube.domain.arrays import FloatArray
from carbon_kube.policy.grids import IntensityGrid
from carbon_kube.policy.jobs import JobTable
from carbon_kube.policy.schedules import Schedule

DEFAULT_OVERRUN_SEED = 0


def actual_durations_s(
    jobs: JobTable, sigma: float, seed: int = DEFAULT_OVERRUN_SEED
) -> FloatArray:
    """Each job's actual running time under the log-normal error (see module docstring)."""
    if not sigma >= 0:
        raise ValueError(f"duration error sigma must be >= 0, got {sigma}")
    if sigma == 0:
        return jobs.duration_s.copy()
    z = np.random.default_rng(seed).standard_normal(len(jobs))
    result: FloatArray = jobs.duration_s * np.exp(sigma * z)
    return result


@dataclass(frozen=True, slots=True)
class Overrun:
    """Per job: the true end of the run and the change of its intensity integral (g·h/kWh)."""

    end_s: FloatArray
    delta_run_s: FloatArray
    delta_integral: FloatArray


def apply_overruns(
    jobs: JobTable, schedule: Schedule, truth: IntensityGrid, actual_s: FloatArray
) -> Overrun:
    """Stretch every run by ``actual - expected`` at its end (see module docstring)."""
    delta = actual_s - jobs.duration_s
    split = schedule.split_rows
    if split.size:
        rows = schedule.segment_rows
        last = np.flatnonzero(np.r_[rows[1:] != rows[:-1], True])
        last_len = schedule.segment_end_s[last] - schedule.segment_start_s[last]
        delta[rows[last]] = np.maximum(delta[rows[last]], -last_len)
    end = schedule.end_s + delta
    data_end_s = float(truth.grid.end_s)
    lo = np.minimum(np.minimum(schedule.end_s, end), data_end_s)
    hi = np.minimum(np.maximum(schedule.end_s, end), data_end_s)
    magnitude = truth.integral_by_zone(schedule.zone_index, lo, hi)
    return Overrun(end_s=end, delta_run_s=delta, delta_integral=np.sign(delta) * magnitude)
