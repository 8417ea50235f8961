"""``temporal``: the start with the lowest believed emissions in ``[submit, deadline - duration]``.

Let's Wait Awhile's time shifting, in the home zone only. Candidate starts are the submit time,
the forecast grid's step boundaries in the window and the latest safe start (see
``policy.windows``); emissions are the exact integral over the run, not the intensity at start.
Interruptible jobs may instead be split into the lowest-intensity steps (``policy.pauses``) when
``pauses`` is on and that is believed cheaper, resume overheads included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from carbon_kube.domain.arrays import FloatArray
from carbon_kube.policy.choosing import decided_per_job, earliest_starts
from carbon_kube.policy.forecasts import Forecast
from carbon_kube.policy.jobs import JobTable
from carbon_kube.policy.pauses import apply_splits, home_only
from carbon_kube.policy.schedules import Reason, Schedule, single_segment
from carbon_kube.policy.windows import best_starts, make_windows

NAME = "temporal"
DEFAULT_RESUME_OVERHEAD = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class TemporalArgs:
    """``pauses``: split interruptible jobs; ``resume_overhead``: restart time per extra segment."""

    pauses: bool = True
    resume_overhead: timedelta = DEFAULT_RESUME_OVERHEAD

    def __post_init__(self) -> None:
        if self.resume_overhead < timedelta(0):
            raise ValueError("resume_overhead must not be negative")


def plan_temporal(
    jobs: JobTable,
    forecast: Forecast,
    decided_s: FloatArray,
    args: TemporalArgs | None = None,
) -> Schedule:
    """Lowest believed-emission start per job in its home zone (see module docstring)."""
    args = args or TemporalArgs()
    decided = decided_per_job(jobs, decided_s)
    earliest = earliest_starts(jobs, decided)
    start = earliest.copy()
    believed = np.zeros(len(jobs), dtype=np.float64)
    for zone in np.unique(jobs.home_zone).tolist():
        rows = np.flatnonzero(jobs.home_zone == zone)
        windows = make_windows(forecast, earliest[rows], jobs.latest_start_s[rows])
        start[rows], believed[rows] = best_starts(
            forecast, zone, decided[rows], jobs.duration_s[rows], windows
        )
    reason = np.where(jobs.infeasible, Reason.INFEASIBLE, Reason.LOWEST_EMISSIONS)
    schedule = single_segment(jobs.home_zone, start, jobs, believed, reason)
    if not args.pauses:
        return schedule
    return apply_splits(
        schedule, jobs, forecast, decided, home_only(jobs), args.resume_overhead.total_seconds()
    )
