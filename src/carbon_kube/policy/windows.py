"""Vectorised search over start times in each job's window ``[earliest, latest start]``.

Candidates are the earliest start (submit, or the decision time if later), every step boundary
of the forecast grid inside the window, every start whose run *ends* on a boundary, and the
latest safe start. For piecewise-constant intensity the emissions of a fixed-length run are
linear in its start between the instants where its start or its end crosses a boundary, so the
minimum over the window is at one of these candidates: the search is exact for any duration
(for whole-step durations the end-aligned starts are the boundaries themselves and are skipped).

Jobs are sorted by how many boundaries their window holds, so iteration ``k`` touches only the
prefix of jobs whose window reaches ``k`` steps: total work is the total number of candidates,
with no Python loop over jobs. Ties keep the earliest start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carbon_kube.domain.arrays import BoolArray, FloatArray, IntArray
from carbon_kube.policy.forecasts import Forecast


@dataclass(frozen=True, slots=True)
class Windows:
    """Per job: earliest start, latest start and how many grid boundaries lie between."""

    earliest_s: FloatArray
    latest_s: FloatArray
    first_boundary_step: IntArray
    boundary_count: IntArray


def make_windows(forecast: Forecast, earliest_s: FloatArray, latest_s: FloatArray) -> Windows:
    """Windows clipped so that an infeasible job (latest < earliest) has none but its start."""
    grid = forecast.grid
    # The step holding the earliest start begins at or before it: boundaries come after.
    first = grid.step_of(earliest_s) + 1
    last = grid.step_of(np.maximum(latest_s, earliest_s))
    count = np.maximum(last - first + 1, 0)
    return Windows(earliest_s, np.maximum(latest_s, earliest_s), first, count)


def best_starts(
    forecast: Forecast,
    zone_index: int,
    decided_s: FloatArray,
    duration_s: FloatArray,
    windows: Windows,
) -> tuple[FloatArray, FloatArray]:
    """Start with the lowest believed emissions per job in one zone, and its believed integral."""
    step_s = float(forecast.grid.step_s)
    origin_s = float(forecast.grid.origin_s)
    best_start = windows.earliest_s.copy()
    best = forecast.integral(zone_index, decided_s, best_start, best_start + duration_s)
    decided = np.broadcast_to(decided_s, best.shape)
    # Starts on a boundary.
    _scan(
        forecast, zone_index, decided, duration_s, windows.first_boundary_step,
        windows.boundary_count, np.zeros_like(duration_s), best, best_start,
    )  # fmt: skip
    # Starts whose run ends on a boundary: origin + j * step - (duration mod step).
    shift_s = np.mod(duration_s, step_s)
    shift_s = np.where(np.isclose(shift_s, step_s) | np.isclose(shift_s, 0.0), 0.0, shift_s)
    first = np.ceil((windows.earliest_s + shift_s - origin_s) / step_s).astype(np.int64)
    last = np.floor((windows.latest_s + shift_s - origin_s) / step_s).astype(np.int64)
    count = np.where(shift_s > 0, np.maximum(last - first + 1, 0), 0)
    _scan(forecast, zone_index, decided, duration_s, first, count, shift_s, best, best_start)
    latest = windows.latest_s
    has_latest = latest > best_start
    if has_latest.any():
        rows = np.flatnonzero(has_latest)
        decided_rows = np.broadcast_to(decided_s, best.shape)[rows]
        cost = forecast.integral(
            zone_index, decided_rows, latest[rows], latest[rows] + duration_s[rows]
        )
        better = cost < best[rows]
        best[rows[better]] = cost[better]
        best_start[rows[better]] = latest[rows][better]
    return best_start, best


def _scan(
    forecast: Forecast,
    zone_index: int,
    decided_s: FloatArray,
    duration_s: FloatArray,
    first_step: IntArray,
    count: IntArray,
    shift_s: FloatArray,
    best: FloatArray,
    best_start: FloatArray,
) -> None:
    """Try starts ``origin + (first + k) * step - shift`` for ``k < count`` per job, in place.

    Jobs are visited in order of candidate count, so step ``k`` touches only the jobs with
    more than ``k`` candidates (no Python loop over jobs). Ties keep the earlier start.
    """
    step_s = float(forecast.grid.step_s)
    origin_s = float(forecast.grid.origin_s)
    order = np.argsort(-count, kind="stable")
    counts = count[order]
    decided = decided_s[order]
    durations = duration_s[order]
    first = first_step[order]
    shifts = shift_s[order]
    sorted_best = best[order]
    sorted_start = best_start[order]
    for k in range(int(counts[0]) if counts.size else 0):
        active = int(np.searchsorted(-counts, -(k + 1), side="right"))
        starts = (origin_s + (first[:active] + k) * step_s - shifts[:active]).astype(
            np.float64, copy=False
        )
        cost = forecast.integral(zone_index, decided[:active], starts, starts + durations[:active])
        held_best, held_start = sorted_best[:active], sorted_start[:active]
        better = (cost < held_best) | ((cost == held_best) & (starts < held_start))
        sorted_best[:active] = np.where(better, cost, held_best)
        sorted_start[:active] = np.where(better, starts, held_start)
    best[order] = sorted_best
    best_start[order] = sorted_start


def first_at_or_below(
    forecast: Forecast,
    zone_index: int,
    decided_s: FloatArray,
    windows: Windows,
    threshold_g_per_kwh: float,
) -> tuple[FloatArray, BoolArray]:
    """First candidate start whose believed intensity is at or below the threshold.

    The intensity believed "at" a start is the believed value of the grid step holding it.
    Returns the release instants and a mask of jobs where one was found; elsewhere the latest
    safe start is returned (the threshold rule never misses a feasible deadline).
    """
    grid = forecast.grid
    step_s = float(grid.step_s)
    step_h = step_s / 3600.0
    limit_gh = threshold_g_per_kwh * step_h
    n = windows.earliest_s.size
    decided = np.broadcast_to(decided_s, (n,))
    step_start = (grid.origin_s + grid.step_of(windows.earliest_s) * step_s).astype(
        np.float64, copy=False
    )
    found = forecast.integral(zone_index, decided, step_start, step_start + step_s) <= limit_gh
    release = np.where(found, windows.earliest_s, windows.latest_s)
    order = np.argsort(-windows.boundary_count, kind="stable")
    counts = windows.boundary_count[order]
    first = windows.first_boundary_step[order]
    sorted_found = found[order]
    sorted_release = release[order]
    sorted_decided = decided[order]
    for k in range(int(counts[0]) if counts.size else 0):
        active = int(np.searchsorted(-counts, -(k + 1), side="right"))
        pending = np.flatnonzero(~sorted_found[:active])
        if pending.size == 0:
            continue
        starts = (grid.origin_s + (first[pending] + k) * step_s).astype(np.float64, copy=False)
        low = (
            forecast.integral(zone_index, sorted_decided[pending], starts, starts + step_s)
            <= limit_gh
        )
        sorted_found[pending[low]] = True
        sorted_release[pending[low]] = starts[low]
    found[order] = sorted_found
    release[order] = sorted_release
    return release, found
