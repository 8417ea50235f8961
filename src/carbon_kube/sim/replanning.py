"""Re-planning held jobs as the forecast moves on, as the controller does (``--replan-every``).

The controller re-plans a held workload whenever a fresher forecast changes its plan; a plan
made once at submit time is what a system without re-planning would do. Here every job is first
planned at submit, then, at each re-plan instant (every ``every`` on the step grid, from the
first boundary after submit) while its planned start is still ahead, planned again as decided
at that instant: the forecast is rebuilt from the data up to then, and the job may start no
earlier than then. A job whose (first) start falls before the next re-plan instant has started
and is final. Jobs never start before the decision that released them, so this cannot peek.

A fresh plan replaces the job's plan only when the controller's rule says so
(``policy.replanning.should_replace``: another zone, or a release moved by at least
``tolerance``), so a run with the controller's tolerance re-plans as the controller does. The
default tolerance of zero replaces on every re-plan, as this simulator always did; the
``simulate`` CLI defaults to the controller's tolerance instead.

Capacity limits are not re-planned (fitting a subset of jobs into capacity already taken by the
others is not modelled): combining them is a ``ValueError``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from carbon_kube.domain.arrays import FloatArray, IntArray
from carbon_kube.domain.zones import Zone
from carbon_kube.policy.forecasts import Forecast
from carbon_kube.policy.jobs import JobTable
from carbon_kube.policy.registry import plan_jobs
from carbon_kube.policy.replanning import ReleasePlan, should_replace
from carbon_kube.policy.schedules import Schedule, replace_rows


def plan_with_replanning(
    name: str,
    jobs: JobTable,
    forecast: Forecast,
    args: Any,
    every: timedelta,
    latency_risk: float,
    tolerance: timedelta = timedelta(0),
) -> tuple[Schedule, int]:
    """Plans of every job after all re-plans, and how many re-plan decisions were made.

    ``tolerance`` is the re-plan rule's (see the module docstring); a decision counts whether
    or not its plan replaced the old one.
    """
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
        take = _replaced(schedule, held, again, grid.zones, tolerance)
        schedule = replace_rows(schedule, held[take], _rows_of(again, take))
        decisions += int(held.size)
        next_s[held] = decided_s + every_s
        held = held[schedule.start_s[held] >= next_s[held]]
    return schedule, decisions


def _replaced(
    schedule: Schedule,
    rows: IntArray,
    again: Schedule,
    zones: tuple[Zone, ...],
    tolerance: timedelta,
) -> IntArray:
    """Positions in ``rows`` whose fresh plan (``again``) replaces the one in ``schedule``."""
    take = [
        i
        for i, row in enumerate(rows.tolist())
        if should_replace(
            _release_plan(schedule, row, zones), _release_plan(again, i, zones), tolerance
        )
    ]
    return np.asarray(take, dtype=np.int64)


def _release_plan(schedule: Schedule, row: int, zones: tuple[Zone, ...]) -> ReleasePlan:
    release_at = datetime.fromtimestamp(float(schedule.start_s[row]), tz=UTC)
    return ReleasePlan(release_at, zones[int(schedule.zone_index[row])])


def _rows_of(schedule: Schedule, positions: IntArray) -> Schedule:
    """The plans of ``positions`` (ascending) of ``schedule``, renumbered from zero."""
    if positions.size == len(schedule):
        return schedule  # every fresh plan taken (always so at tolerance zero)
    keep = np.isin(schedule.segment_rows, positions)
    renumbered = np.full(len(schedule), -1, dtype=np.int64)
    renumbered[positions] = np.arange(positions.size, dtype=np.int64)
    return Schedule(
        zone_index=schedule.zone_index[positions],
        start_s=schedule.start_s[positions],
        end_s=schedule.end_s[positions],
        run_s=schedule.run_s[positions],
        believed_gh_per_kwh=schedule.believed_gh_per_kwh[positions],
        reason=schedule.reason[positions],
        segment_rows=renumbered[schedule.segment_rows[keep]],
        segment_start_s=schedule.segment_start_s[keep],
        segment_end_s=schedule.segment_end_s[keep],
    )
