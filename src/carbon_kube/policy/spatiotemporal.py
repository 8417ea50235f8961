"""``spatiotemporal``: the (zone, start) pair with the lowest believed emissions.

For each allowed zone the temporal search runs over the job's window; the home zone is the
incumbent and another zone must be strictly better (ties keep the job at home, and within a
zone the earliest start). Interruptible jobs may be split in any allowed zone, like ``temporal``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from carbon_kube.domain.arrays import FloatArray
from carbon_kube.policy.choosing import decided_per_job, earliest_starts
from carbon_kube.policy.forecasts import Forecast
from carbon_kube.policy.jobs import JobTable
from carbon_kube.policy.pauses import apply_splits
from carbon_kube.policy.schedules import Reason, Schedule, single_segment
from carbon_kube.policy.temporal import DEFAULT_RESUME_OVERHEAD, TemporalArgs, plan_temporal
from carbon_kube.policy.windows import best_starts, make_windows

NAME = "spatiotemporal"


@dataclass(frozen=True, slots=True)
class SpatiotemporalArgs:
    """Same knobs as ``temporal``: pauses for interruptible jobs and their resume overhead."""

    pauses: bool = True
    resume_overhead: timedelta = DEFAULT_RESUME_OVERHEAD

    def __post_init__(self) -> None:
        if self.resume_overhead < timedelta(0):
            raise ValueError("resume_overhead must not be negative")


def plan_spatiotemporal(
    jobs: JobTable,
    forecast: Forecast,
    decided_s: FloatArray,
    args: SpatiotemporalArgs | None = None,
) -> Schedule:
    """Best believed (zone, start) per job (see module docstring)."""
    args = args or SpatiotemporalArgs()
    decided = decided_per_job(jobs, decided_s)
    earliest = earliest_starts(jobs, decided)
    home = plan_temporal(jobs, forecast, decided, TemporalArgs(pauses=False))
    zone = jobs.home_zone.copy()
    start = home.start_s.copy()
    believed = home.believed_gh_per_kwh.copy()
    for candidate in range(len(jobs.zones)):
        rows = np.flatnonzero(jobs.allowed[:, candidate] & (jobs.home_zone != candidate))
        if rows.size == 0:
            continue
        windows = make_windows(forecast, earliest[rows], jobs.latest_start_s[rows])
        cand_start, cost = best_starts(
            forecast, candidate, decided[rows], jobs.duration_s[rows], windows
        )
        better = cost < believed[rows]
        believed[rows[better]] = cost[better]
        start[rows[better]] = cand_start[better]
        zone[rows[better]] = candidate
    reason = np.where(jobs.infeasible, Reason.INFEASIBLE, Reason.LOWEST_EMISSIONS)
    schedule = single_segment(zone, start, jobs, believed, reason)
    if not args.pauses:
        return schedule
    return apply_splits(
        schedule, jobs, forecast, decided, jobs.allowed, args.resume_overhead.total_seconds()
    )
