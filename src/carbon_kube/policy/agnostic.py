"""``carbon-agnostic``: start at submit in the home zone, the baseline every saving is against."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carbon_kube.domain.arrays import FloatArray
from carbon_kube.policy.choosing import believed_by_zone, decided_per_job, earliest_starts
from carbon_kube.policy.forecasts import Forecast
from carbon_kube.policy.jobs import JobTable
from carbon_kube.policy.schedules import Reason, Schedule, single_segment

NAME = "carbon-agnostic"


@dataclass(frozen=True, slots=True)
class CarbonAgnosticArgs:
    """The baseline has no knobs."""


def plan_carbon_agnostic(
    jobs: JobTable,
    forecast: Forecast,
    decided_s: FloatArray,
    args: CarbonAgnosticArgs | None = None,
) -> Schedule:
    """Every job at its earliest start in its home zone; infeasible ones are only flagged."""
    decided = decided_per_job(jobs, decided_s)
    start = earliest_starts(jobs, decided)
    believed = believed_by_zone(forecast, jobs.home_zone, decided, start, start + jobs.duration_s)
    reason = np.where(jobs.infeasible, Reason.INFEASIBLE, Reason.BASELINE)
    return single_segment(jobs.home_zone, start, jobs, believed, reason)
