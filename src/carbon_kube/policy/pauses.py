"""Split interruptible work into the lowest-intensity steps before its deadline.

Let's Wait Awhile's interruptible scenario: a job that can checkpoint may run in pieces. The
window ``[earliest, deadline)`` is cut at the grid's step boundaries; slots are taken in order of
believed intensity until they hold the job's duration (fractional knapsack, optimal without
overheads); the last slot taken is used only in part.

Resume overhead (stated model): every extra segment costs a fixed restart time (reschedule the
pod, reload the checkpoint) of running at full power, placed just before the segment resumes.
Two segments separated by a gap no longer than that restart time are joined instead (running
through the gap costs no more than restarting). The split plan is kept only when its believed
emissions, overheads included, are below the best contiguous start's; so a split never
increases believed emissions, and energy grows only by the overheads it reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carbon_kube.domain.arrays import BoolArray, FloatArray, IntArray
from carbon_kube.policy.forecasts import Forecast
from carbon_kube.policy.grids import SECONDS_PER_HOUR
from carbon_kube.policy.jobs import JobTable
from carbon_kube.policy.schedules import Reason, Schedule

_TOLERANCE_S = 1e-6
_SCREEN_CHUNK = 20_000


@dataclass(frozen=True, slots=True)
class SplitPlan:
    """Segments ``[(start_s, end_s), ...]``, total running time and believed integral."""

    segments: list[tuple[float, float]]
    run_s: float
    believed_gh_per_kwh: float


def plan_split(
    forecast: Forecast,
    zone_index: int,
    decided_s: float,
    earliest_s: float,
    deadline_s: float,
    duration_s: float,
    resume_overhead_s: float,
) -> SplitPlan | None:
    """The split plan of one job in one zone, or ``None`` if it cannot fit before the deadline."""
    if deadline_s - earliest_s < duration_s:
        return None
    grid = forecast.grid
    first = int(grid.step_of(np.array([earliest_s]))[0]) + 1
    last = -int(-(deadline_s - grid.origin_s) // grid.step_s)  # boundaries < deadline
    boundaries = grid.origin_s + np.arange(first, last, dtype=np.float64) * grid.step_s
    edges = np.concatenate(([earliest_s], boundaries[boundaries < deadline_s], [deadline_s]))
    lengths = np.diff(edges)
    decided = np.full(lengths.size, decided_s)
    believed = forecast.integral(zone_index, decided, edges[:-1], edges[1:])
    intensity = believed / (lengths / SECONDS_PER_HOUR)
    order = np.argsort(intensity, kind="stable")
    filled = np.cumsum(lengths[order])
    taken = int(np.searchsorted(filled, duration_s - _TOLERANCE_S)) + 1
    chosen = np.zeros(lengths.size, dtype=np.bool_)
    chosen[order[:taken]] = True
    partial = int(order[taken - 1])
    used_s = duration_s - (float(filled[taken - 2]) if taken > 1 else 0.0)
    intervals = [
        (float(edges[i]), float(edges[i + 1])) for i in np.flatnonzero(chosen) if i != partial
    ]
    next_chosen = partial + 1 < lengths.size and chosen[partial + 1]
    previous_chosen = partial > 0 and chosen[partial - 1]
    if next_chosen and not previous_chosen:
        intervals.append((float(edges[partial + 1]) - used_s, float(edges[partial + 1])))
    else:
        intervals.append((float(edges[partial]), float(edges[partial]) + used_s))
    intervals.sort()
    segments: list[tuple[float, float]] = []
    run_s = 0.0
    for start, end in intervals:
        if segments and start - segments[-1][1] <= max(resume_overhead_s, _TOLERANCE_S):
            # Cheaper to keep running through the gap than to restart.
            run_s += end - segments[-1][1]
            segments[-1] = (segments[-1][0], end)
            continue
        if segments:
            start -= resume_overhead_s
        run_s += end - start
        segments.append((start, end))
    seg = np.array(segments, dtype=np.float64)
    total = float(
        forecast.integral(zone_index, np.full(len(segments), decided_s), seg[:, 0], seg[:, 1]).sum()
    )
    return SplitPlan(segments, run_s, total)


def split_lower_bounds(
    forecast: Forecast,
    zone_index: int,
    decided_s: FloatArray,
    earliest_s: FloatArray,
    deadline_s: FloatArray,
    duration_s: FloatArray,
    resume_overhead_s: float,
) -> FloatArray:
    """A lower bound on ``plan_split``'s believed integral for many jobs at once.

    The fractional knapsack over the window's slots (no overheads), plus one restart at the
    window's lowest intensity: any split plan with two or more segments costs at least that.
    Jobs are padded to the longest window in the batch (callers chunk the batch).
    """
    grid = forecast.grid
    step_s = float(grid.step_s)
    first = grid.step_of(earliest_s) + 1
    # Boundaries strictly inside (earliest, deadline): the window has that many + 1 slots.
    after_last = -np.floor_divide(-(deadline_s - grid.origin_s), step_s).astype(np.int64)
    n_slots = np.maximum(after_last - first, 0) + 1
    width = int(n_slots.max())
    k = np.arange(width, dtype=np.int64)[None, :]
    boundary = grid.origin_s + (first[:, None] + k - 1) * step_s
    starts = np.where(k == 0, earliest_s[:, None], boundary)
    ends = np.minimum(boundary + step_s, deadline_s[:, None])
    valid = k < n_slots[:, None]
    starts = np.where(valid, starts, earliest_s[:, None])
    ends = np.where(valid, np.maximum(ends, starts), earliest_s[:, None])
    decided = np.repeat(decided_s, width)
    integral = forecast.integral(zone_index, decided, starts.ravel(), ends.ravel())
    lengths_s = (ends - starts).reshape(-1, width)
    with np.errstate(divide="ignore", invalid="ignore"):
        intensity = np.where(
            lengths_s > 0, integral.reshape(-1, width) / (lengths_s / SECONDS_PER_HOUR), np.inf
        )
    order = np.argsort(intensity, axis=1, kind="stable")
    sorted_intensity = np.take_along_axis(intensity, order, axis=1)
    sorted_lengths = np.take_along_axis(lengths_s, order, axis=1)
    filled_before = np.cumsum(sorted_lengths, axis=1) - sorted_lengths
    used_s = np.clip(duration_s[:, None] - filled_before, 0.0, sorted_lengths)
    finite = np.where(np.isfinite(sorted_intensity), sorted_intensity, 0.0)
    knapsack_gh = (finite * used_s).sum(axis=1) / SECONDS_PER_HOUR
    restart_gh = resume_overhead_s / SECONDS_PER_HOUR * finite[:, 0]
    result: FloatArray = knapsack_gh + restart_gh
    return result


def apply_splits(
    schedule: Schedule,
    jobs: JobTable,
    forecast: Forecast,
    decided_s: FloatArray,
    zones_for_row: BoolArray,
    resume_overhead_s: float,
) -> Schedule:
    """Replace contiguous plans of interruptible jobs by split plans where believed cheaper.

    ``zones_for_row`` (jobs x zones) says where each job may be split; a split plan must beat
    the current plan by more than rounding noise to be kept. One small loop per interruptible,
    feasible job: splitting is ragged work that does not vectorise across jobs.
    """
    candidates = np.flatnonzero(jobs.interruptible & ~jobs.infeasible)
    if candidates.size == 0:
        return schedule
    decided = np.broadcast_to(decided_s, (len(jobs),))
    earliest = np.maximum(jobs.submit_s, decided)
    # Screen (row, zone) pairs with a vectorised lower bound; plan exactly only the survivors.
    promising: dict[int, list[int]] = {}
    for zone in range(zones_for_row.shape[1]):
        rows_z = candidates[zones_for_row[candidates, zone]]
        for chunk in np.array_split(rows_z, max(1, rows_z.size // _SCREEN_CHUNK)):
            if chunk.size == 0:
                continue
            bound = split_lower_bounds(
                forecast,
                zone,
                decided[chunk],
                earliest[chunk],
                jobs.deadline_s[chunk],
                jobs.duration_s[chunk],
                resume_overhead_s,
            )
            for row in chunk[bound < schedule.believed_gh_per_kwh[chunk] * (1 - 1e-9)].tolist():
                promising.setdefault(row, []).append(zone)
    rows: list[int] = []
    plans: list[tuple[int, SplitPlan]] = []
    for row, zones in sorted(promising.items()):
        best: tuple[int, SplitPlan] | None = None
        best_gh = float(schedule.believed_gh_per_kwh[row]) * (1 - 1e-9)
        for zone in zones:
            split = plan_split(
                forecast,
                zone,
                float(decided[row]),
                float(earliest[row]),
                float(jobs.deadline_s[row]),
                float(jobs.duration_s[row]),
                resume_overhead_s,
            )
            if split and len(split.segments) > 1 and split.believed_gh_per_kwh < best_gh:
                best, best_gh = (zone, split), split.believed_gh_per_kwh
        if best is not None:
            rows.append(row)
            plans.append(best)
    if not rows:
        return schedule
    zone_index = schedule.zone_index.copy()
    start_s = schedule.start_s.copy()
    end_s = schedule.end_s.copy()
    run_s = schedule.run_s.copy()
    believed = schedule.believed_gh_per_kwh.copy()
    reason = schedule.reason.copy()
    segment_rows: list[int] = []
    segment_bounds: list[tuple[float, float]] = []
    for row, (zone, split) in zip(rows, plans, strict=True):
        zone_index[row] = zone
        start_s[row] = split.segments[0][0]
        end_s[row] = split.segments[-1][1]
        run_s[row] = split.run_s
        believed[row] = split.believed_gh_per_kwh
        reason[row] = Reason.SPLIT
        segment_rows.extend([row] * len(split.segments))
        segment_bounds.extend(split.segments)
    bounds = np.array(segment_bounds, dtype=np.float64)
    return Schedule(
        zone_index=zone_index,
        start_s=start_s,
        end_s=end_s,
        run_s=run_s,
        believed_gh_per_kwh=believed,
        reason=reason,
        segment_rows=np.array(segment_rows, dtype=np.int64),
        segment_start_s=bounds[:, 0],
        segment_end_s=bounds[:, 1],
    )


def home_only(jobs: JobTable) -> BoolArray:
    """The jobs x zones mask with only each job's home zone set."""
    mask = np.zeros_like(jobs.allowed)
    rows: IntArray = np.arange(len(jobs), dtype=np.int64)
    mask[rows, jobs.home_zone] = True
    return mask
