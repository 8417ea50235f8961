"""``spatial``: start at submit in the allowed zone with the lowest believed intensity.

"Intensity" is the believed mean over the run when started at submit (the integral divided by
the duration), which for an hour-long job is the intensity at submit and for longer jobs does
not ignore the rest of the run. Ties keep the home zone, then the zones' order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carbon_kube.domain.arrays import FloatArray
from carbon_kube.policy.choosing import believed_by_zone, decided_per_job, earliest_starts
from carbon_kube.policy.forecasts import Forecast
from carbon_kube.policy.jobs import JobTable
from carbon_kube.policy.schedules import Reason, Schedule, single_segment

NAME = "spatial"


@dataclass(frozen=True, slots=True)
class SpatialArgs:
    """Spatial shifting has no knobs: the allowed zones come with each job."""


def plan_spatial(
    jobs: JobTable,
    forecast: Forecast,
    decided_s: FloatArray,
    args: SpatialArgs | None = None,
) -> Schedule:
    """Lowest believed-emission allowed zone per job, starting at submit."""
    decided = decided_per_job(jobs, decided_s)
    start = earliest_starts(jobs, decided)
    end = start + jobs.duration_s
    zone = jobs.home_zone.copy()
    # The home zone is the incumbent: another zone must be strictly better to win.
    believed = believed_by_zone(forecast, zone, decided, start, end)
    for candidate in range(len(jobs.zones)):
        rows = np.flatnonzero(jobs.allowed[:, candidate] & (jobs.home_zone != candidate))
        if rows.size == 0:
            continue
        cost = forecast.integral(candidate, decided[rows], start[rows], end[rows])
        better = cost < believed[rows]
        believed[rows[better]] = cost[better]
        zone[rows[better]] = candidate
    reason = np.where(jobs.infeasible, Reason.INFEASIBLE, Reason.LOWEST_INTENSITY_ZONE)
    return single_segment(zone, start, jobs, believed, reason)
