"""Finite vCPU capacity per zone: a greedy by slack over a per-zone, per-step ledger.

Algorithm (stated, because results depend on it):

1. Jobs are taken in order of decision step (causality: a job is planned when it is decided,
   and cannot take back capacity promised earlier), then least slack first, then file order.
2. A job's unconstrained plan (what its policy chose) is kept if every step it touches has room
   for its vCPUs in its zone. A run occupies each step it overlaps, for the whole step: a
   conservative ledger that never under-counts.
3. Otherwise the policy's other candidates are tried, best believed emissions first (for
   ``threshold``: in time order from the release; for ``carbon-agnostic`` and ``spatial``: the
   start at submit in each allowed zone). Pauses are given up under contention: the fallback
   runs contiguously.
4. If nothing fits before the latest safe start, the job starts at the first step boundary
   after that where any of its zones has room (a deadline miss, reported, never dropped).
5. A job too large for every zone it may use, or that fits nowhere before the data end, raises
   ``CapacityError``: the caller reports it as an input problem.

This is a heuristic: an LP/MILP over a batch (HiGHS) could place more jobs on time; it is not
built yet. Capacity never exceeds the ledger limits, which the property tests check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from carbon_kube.domain.arrays import FloatArray
from carbon_kube.domain.zones import Zone
from carbon_kube.policy.choosing import decided_per_job, earliest_starts
from carbon_kube.policy.forecasts import Forecast
from carbon_kube.policy.grids import StepGrid
from carbon_kube.policy.jobs import JobTable
from carbon_kube.policy.schedules import Reason, Schedule

_ROOM_TOLERANCE = 1e-9


class CapacityError(ValueError):
    """A job can never be placed within the zones' capacity and the intensity data."""

    def __init__(self, job_id: str, message: str) -> None:
        self.job_id = job_id
        super().__init__(f"job {job_id}: {message}")


class Fallback(StrEnum):
    """Which candidates a policy offers when its first choice does not fit."""

    AT_SUBMIT = "at-submit"
    IN_WINDOW = "in-window"
    FROM_RELEASE = "from-release"


@dataclass(frozen=True, slots=True)
class CapacityLimits:
    """vCPUs per zone; zones not listed are unlimited."""

    vcpus_by_zone: Mapping[Zone, float]

    def __post_init__(self) -> None:
        for zone, vcpus in self.vcpus_by_zone.items():
            if not vcpus > 0:
                raise ValueError(f"capacity of {zone} must be > 0 vCPUs, got {vcpus}")

    def per_zone(self, zones: tuple[Zone, ...]) -> FloatArray:
        """Capacity per zone index (``inf`` where unlimited)."""
        return np.array([self.vcpus_by_zone.get(z, np.inf) for z in zones], dtype=np.float64)


class Ledger:
    """vCPUs promised per zone and step; ``fits`` and ``take`` work on step ranges."""

    def __init__(self, grid: StepGrid, capacity_vcpus: FloatArray) -> None:
        self.grid = grid
        self.capacity_vcpus = capacity_vcpus
        self.used_vcpus = np.zeros((len(grid.zones), grid.n_steps), dtype=np.float64)

    def steps(self, start_s: float, end_s: float) -> tuple[int, int]:
        """Steps ``[first, last)`` a run overlaps."""
        first = int((start_s - self.grid.origin_s) // self.grid.step_s)
        last = -int(-(end_s - self.grid.origin_s) // self.grid.step_s)
        return first, last

    def fits(self, zone: int, segments: list[tuple[float, float]], cpus: float) -> bool:
        limit = self.capacity_vcpus[zone]
        if limit == np.inf:
            return True
        for start_s, end_s in segments:
            first, last = self.steps(start_s, end_s)
            if first < 0 or last > self.grid.n_steps:
                return False
            if self.used_vcpus[zone, first:last].max() + cpus > limit + _ROOM_TOLERANCE:
                return False
        return True

    def take(self, zone: int, segments: list[tuple[float, float]], cpus: float) -> None:
        # A paused job's segments may end and start again inside one step: it holds its
        # vCPUs there once, not once per segment (counting twice overfilled the step).
        occupied = np.zeros(self.grid.n_steps, dtype=bool)
        for start_s, end_s in segments:
            first, last = self.steps(start_s, end_s)
            occupied[max(first, 0) : last] = True
        self.used_vcpus[zone, occupied] += cpus

    def first_fit_step(self, zone: int, from_step: int, width_steps: int, cpus: float) -> int:
        """First step ``>= from_step`` where ``width_steps`` steps have room, or -1."""
        available = self.used_vcpus[zone, from_step:]
        if available.size < width_steps:
            return -1
        peak = sliding_window_view(available, width_steps).max(axis=1)
        room = np.flatnonzero(peak + cpus <= self.capacity_vcpus[zone] + _ROOM_TOLERANCE)
        return from_step + int(room[0]) if room.size else -1


def apply_capacity(
    jobs: JobTable,
    schedule: Schedule,
    forecast: Forecast,
    decided_s: FloatArray,
    limits: CapacityLimits,
    fallback: Fallback,
    zones_mask: np.ndarray | None = None,
) -> Schedule:
    """Re-plan ``schedule`` so that no zone exceeds its capacity (see module docstring).

    ``zones_mask`` (jobs x zones) is where the policy may place each job; ``None`` means the
    home zone only. Returns ``schedule`` itself when no zone is limited.
    """
    grid = forecast.grid
    capacity = limits.per_zone(grid.zones)
    if np.all(np.isinf(capacity)):
        return schedule
    mask = zones_mask if zones_mask is not None else _home_mask(jobs)
    for row in np.flatnonzero(np.all(jobs.cpus[:, None] > np.where(mask, capacity, 0), axis=1)):
        raise CapacityError(
            jobs.job_ids[int(row)],
            f"needs {jobs.cpus[row]:g} vCPUs, more than any zone it may run in can hold",
        )
    decided = decided_per_job(jobs, decided_s)
    earliest = earliest_starts(jobs, decided)
    slack = jobs.latest_start_s - earliest
    order = np.lexsort((np.arange(len(jobs)), slack, grid.step_of(decided)))
    ledger = Ledger(grid, capacity)
    zone_index = schedule.zone_index.copy()
    start_s = schedule.start_s.copy()
    end_s = schedule.end_s.copy()
    run_s = schedule.run_s.copy()
    believed = schedule.believed_gh_per_kwh.copy()
    reason = schedule.reason.copy()
    split = {int(r): schedule.segments_of(int(r)) for r in schedule.split_rows}
    kept_split: list[int] = []
    for row in order.tolist():
        zone = int(zone_index[row])
        segments = split.get(row) or [(float(start_s[row]), float(end_s[row]))]
        cpus = float(jobs.cpus[row])
        if ledger.fits(zone, segments, cpus):
            ledger.take(zone, segments, cpus)
            if row in split:
                kept_split.append(row)
            continue
        choice = _fallback(
            ledger,
            forecast,
            jobs,
            row,
            float(decided[row]),
            float(earliest[row]),
            float(start_s[row]),
            mask[row],
            fallback,
        )
        zone, start, cost, late = choice
        duration = float(jobs.duration_s[row])
        ledger.take(zone, [(start, start + duration)], cpus)
        zone_index[row], start_s[row], end_s[row] = zone, start, start + duration
        run_s[row], believed[row] = duration, cost
        reason[row] = Reason.CAPACITY_LATE if late else Reason.CAPACITY_MOVED
    rows = [r for r in kept_split for _ in split[r]]
    bounds = np.array([b for r in kept_split for b in split[r]], dtype=np.float64).reshape(-1, 2)
    return Schedule(
        zone_index=zone_index,
        start_s=start_s,
        end_s=end_s,
        run_s=run_s,
        believed_gh_per_kwh=believed,
        reason=reason,
        segment_rows=np.array(rows, dtype=np.int64),
        segment_start_s=bounds[:, 0],
        segment_end_s=bounds[:, 1],
    )


def _home_mask(jobs: JobTable) -> np.ndarray:
    mask = np.zeros_like(jobs.allowed)
    mask[np.arange(len(jobs)), jobs.home_zone] = True
    return mask


def _fallback(
    ledger: Ledger,
    forecast: Forecast,
    jobs: JobTable,
    row: int,
    decided: float,
    earliest: float,
    planned_start: float,
    zones_mask: np.ndarray,
    fallback: Fallback,
) -> tuple[int, float, float, bool]:
    """(zone, start, believed integral, late) of the best fitting alternative."""
    grid = forecast.grid
    duration = float(jobs.duration_s[row])
    cpus = float(jobs.cpus[row])
    latest = max(float(jobs.latest_start_s[row]), earliest)
    zones: list[int] = [int(jobs.home_zone[row])] + [
        int(z) for z in np.flatnonzero(zones_mask) if z != jobs.home_zone[row]
    ]
    first_boundary = int((earliest - grid.origin_s) // grid.step_s) + 1
    last_boundary = int((latest - grid.origin_s) // grid.step_s)
    boundaries = grid.origin_s + np.arange(first_boundary, last_boundary + 1) * float(grid.step_s)
    if fallback is Fallback.AT_SUBMIT:
        times = np.array([earliest])
    elif fallback is Fallback.FROM_RELEASE:
        times = np.concatenate(([planned_start], boundaries[boundaries > planned_start]))
    else:
        times = np.unique(np.concatenate(([earliest], boundaries, [latest])))
    candidates: list[tuple[float, float, int, int]] = []  # (cost, start, zone rank, zone)
    for rank, zone in enumerate(zones):
        costs = forecast.integral(zone, np.full(times.size, decided), times, times + duration)
        candidates.extend(
            (float(c), float(t), rank, zone) for c, t in zip(costs, times, strict=True)
        )
    if fallback is Fallback.FROM_RELEASE:
        candidates.sort(key=lambda c: (c[1], c[2]))
    else:
        candidates.sort(key=lambda c: (c[0], c[1], c[2]))
    for cost, start, _, zone in candidates:
        if ledger.fits(zone, [(start, start + duration)], cpus):
            return zone, start, cost, False
    # Nothing fits in time: the first boundary after the window where any zone has room.
    width = -int(-duration // grid.step_s)
    # The baseline queues from its submit time; the others have tried their whole window.
    from_step = (
        first_boundary if fallback is Fallback.AT_SUBMIT else max(last_boundary + 1, first_boundary)
    )
    best: tuple[int, int] | None = None
    for zone in zones:
        step = ledger.first_fit_step(zone, from_step, width, cpus)
        if step >= 0 and (best is None or step < best[1]):
            best = (zone, step)
    if best is None:
        raise CapacityError(
            jobs.job_ids[row], "no zone has room for it before the end of the intensity data"
        )
    zone, step = best
    start = grid.origin_s + step * float(grid.step_s)
    cost = float(
        forecast.integral(
            zone, np.array([decided]), np.array([start]), np.array([start + duration])
        )[0]
    )
    return zone, start, cost, start + duration > float(jobs.deadline_s[row])
