"""Re-planning held jobs as the forecast moves on, as the controller does (``--replan-every``).

The controller re-plans a held workload whenever a fresher forecast changes its plan; a plan
made once at submit time is what a system without re-planning would do. Here every job is first
planned at submit, then, at each re-plan instant (every ``every`` on the step grid, from the
first boundary after submit) while its planned start is still ahead, planned again as decided
at that instant: the forecast is rebuilt from the data up to then, and the job may start no
earlier than then. A job whose (first) start falls before the next re-plan instant has started
and is final. Jobs never start before the decision that released them, so this cannot peek.

Capacity limits are not re-planned (fitting a subset of jobs into capacity already taken by the
others is not modelled): combining them is a ``ValueError``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np

from carbon_kube.domain.arrays import FloatArray
from carbon_kube.policy.forecasts import Forecast
from carbon_kube.policy.jobs import JobTable
from carbon_kube.policy.registry import plan_jobs
from carbon_kube.policy.schedules import Schedule, replace_rows


def plan_with_replanning(
    name: str,
    jobs: JobTable,
    forecast: Forecast,
    args: Any,
    every: timedelta,
    latency_risk: float,
) -> tuple[Schedule, int]:
    """Plans of every job after all re-plans, and how many re-plan decisions were made."""
    grid = forecast.grid
    every_s = every.total_seconds()
    if every_s <= 0 or every_s % grid.step_s:
        raise ValueError(f"re-plan period must be a positive multiple of {grid.step_s} s")
    submit_s = jobs.submit_s
    schedule = plan_jobs(name, jobs, forecast, submit_s, args, latency_risk=latency_risk)
    first_step_s = grid.origin_s + (grid.step_of(submit_s) + 1) * float(grid.step_s)
    next_s: FloatArray = (first_step_s + (every_s - grid.step_s)).astype(np.float64)
    held = np.flatnonzero(schedule.start_s >= next_s)
    decisions = 0
    while held.size:
        decided_s = next_s[held]
        again = plan_jobs(
            name, jobs.take(held), forecast, decided_s, args, latency_risk=latency_risk
        )
        schedule = replace_rows(schedule, held, again)
        decisions += int(held.size)
        next_s[held] = decided_s + every_s
        held = held[again.start_s >= next_s[held]]
    return schedule, decisions
