"""``threshold``: hold while the forecast intensity is above a threshold (the seed's rule).

A job is released at the first candidate start (its submit time, then each step boundary) whose
believed intensity is at or below ``threshold_g_per_kwh``, and at its latest safe start if none
is: the threshold never costs a feasible deadline. A job that cannot meet its deadline starts at
submit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carbon_kube.domain.arrays import FloatArray
from carbon_kube.domain.limits import INTENSITY_G_PER_KWH
from carbon_kube.policy.choosing import believed_by_zone, decided_per_job, earliest_starts
from carbon_kube.policy.forecasts import Forecast
from carbon_kube.policy.jobs import JobTable
from carbon_kube.policy.schedules import Reason, Schedule, single_segment
from carbon_kube.policy.windows import first_at_or_below, make_windows

NAME = "threshold"
DEFAULT_THRESHOLD_G_PER_KWH = 200.0


@dataclass(frozen=True, slots=True)
class ThresholdArgs:
    """``threshold_g_per_kwh``: release at or below this believed intensity (default 200)."""

    threshold_g_per_kwh: float = DEFAULT_THRESHOLD_G_PER_KWH

    def __post_init__(self) -> None:
        if not 0 <= self.threshold_g_per_kwh <= INTENSITY_G_PER_KWH.high:
            raise ValueError(
                f"threshold must be {INTENSITY_G_PER_KWH.describe()}, "
                f"got {self.threshold_g_per_kwh}"
            )


def plan_threshold(
    jobs: JobTable,
    forecast: Forecast,
    decided_s: FloatArray,
    args: ThresholdArgs | None = None,
) -> Schedule:
    """Release times per job in its home zone (see module docstring)."""
    args = args or ThresholdArgs()
    decided = decided_per_job(jobs, decided_s)
    earliest = earliest_starts(jobs, decided)
    start = earliest.copy()
    reason = np.full(len(jobs), Reason.BELOW_THRESHOLD, dtype=np.int64)
    for zone in np.unique(jobs.home_zone).tolist():
        rows = np.flatnonzero(jobs.home_zone == zone)
        zone_windows = make_windows(forecast, earliest[rows], jobs.latest_start_s[rows])
        release, found = first_at_or_below(
            forecast, zone, decided[rows], zone_windows, args.threshold_g_per_kwh
        )
        start[rows] = release
        reason[rows[~found]] = Reason.LATEST_SAFE_START
    reason[jobs.infeasible] = Reason.INFEASIBLE
    start = np.where(jobs.infeasible, earliest, start)
    believed = believed_by_zone(forecast, jobs.home_zone, decided, start, start + jobs.duration_s)
    return single_segment(jobs.home_zone, start, jobs, believed, reason)
