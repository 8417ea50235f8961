"""Schedules: the plans of a whole ``JobTable`` as arrays, and their conversion to ``Plan``.

A row holds the chosen zone, the first start, the last end, the running time (which exceeds the
job's duration only by modelled resume overheads) and the believed integral the choice was made
on. Jobs split into pauses list their segments separately (``segment_*``, ordered by job then
time); every other job runs in one segment ``[start, end)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import TypeVar

import numpy as np

from carbon_kube.domain.arrays import FloatArray, IntArray
from carbon_kube.domain.intensity import from_epoch_s
from carbon_kube.domain.plans import Lever, Plan, RunSegment
from carbon_kube.policy.grids import SECONDS_PER_HOUR
from carbon_kube.policy.jobs import JobTable

ArrayT = TypeVar("ArrayT", FloatArray, IntArray)


class Reason(IntEnum):
    """Why a job was planned as it was; rendered by ``reason_text``."""

    BASELINE = 0
    INFEASIBLE = 1
    BELOW_THRESHOLD = 2
    LATEST_SAFE_START = 3
    LOWEST_EMISSIONS = 4
    LOWEST_INTENSITY_ZONE = 5
    SPLIT = 6
    CAPACITY_MOVED = 7
    CAPACITY_LATE = 8


_REASON_TEXT = {
    Reason.BASELINE: "started at submit in its home zone (carbon-agnostic baseline)",
    Reason.INFEASIBLE: "deadline cannot be met even starting at submit: started at submit",
    Reason.BELOW_THRESHOLD: "released at the first start with forecast intensity at or below "
    "the threshold",
    Reason.LATEST_SAFE_START: "forecast stayed above the threshold: released at the latest "
    "safe start",
    Reason.LOWEST_EMISSIONS: "lowest forecast emissions among allowed starts",
    Reason.LOWEST_INTENSITY_ZONE: "lowest forecast intensity among allowed zones at submit",
    Reason.SPLIT: "interruptible: runs in the lowest-intensity steps before its deadline",
    Reason.CAPACITY_MOVED: "zone capacity was taken: next-best start that fits",
    Reason.CAPACITY_LATE: "zone capacity was taken until after the deadline: first start that fits",
}


def reason_text(reason: Reason, forecast_name: str) -> str:
    """One sentence for the ``reason`` annotation and reports."""
    return f"{_REASON_TEXT[reason]} ({forecast_name} forecast)"


_EMPTY_I = np.zeros(0, dtype=np.int64)
_EMPTY_F = np.zeros(0, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Schedule:
    """Plans for every row of a ``JobTable`` (see module docstring)."""

    zone_index: IntArray
    start_s: FloatArray
    end_s: FloatArray
    run_s: FloatArray
    believed_gh_per_kwh: FloatArray
    reason: IntArray
    segment_rows: IntArray = field(default_factory=lambda: _EMPTY_I)
    segment_start_s: FloatArray = field(default_factory=lambda: _EMPTY_F)
    segment_end_s: FloatArray = field(default_factory=lambda: _EMPTY_F)

    def __len__(self) -> int:
        return int(self.zone_index.size)

    @property
    def split_rows(self) -> IntArray:
        """Rows of jobs planned in more than one segment."""
        result: IntArray = np.unique(self.segment_rows)
        return result

    def segments_of(self, row: int) -> list[tuple[float, float]]:
        """``[(start_s, end_s), ...]`` of one job."""
        mask = self.segment_rows == row
        if not mask.any():
            return [(float(self.start_s[row]), float(self.end_s[row]))]
        return list(
            zip(self.segment_start_s[mask].tolist(), self.segment_end_s[mask].tolist(), strict=True)
        )


def single_segment(
    zone_index: IntArray,
    start_s: FloatArray,
    jobs: JobTable,
    believed: FloatArray,
    reason: IntArray,
) -> Schedule:
    """A schedule where every job runs contiguously for its duration."""
    return Schedule(
        zone_index=zone_index.astype(np.int64),
        start_s=start_s,
        end_s=start_s + jobs.duration_s,
        run_s=jobs.duration_s.copy(),
        believed_gh_per_kwh=believed,
        reason=reason.astype(np.int64),
    )


def levers(jobs: JobTable, schedule: Schedule) -> IntArray:
    """Per job: 0 none, 1 time, 2 region, 3 time+region (index into ``LEVER_ORDER``).

    The lever of the start and zone only, as ``planning.outcomes.lever_of`` names a release:
    what pausing a split job saved is the ``pause`` lever's (``sim.report``).
    """
    moved_time = schedule.start_s != jobs.submit_s
    moved_zone = schedule.zone_index != jobs.home_zone
    result: IntArray = moved_time.astype(np.int64) + 2 * moved_zone.astype(np.int64)
    return result


LEVER_ORDER = (Lever.NONE, Lever.TIME, Lever.REGION, Lever.TIME_AND_REGION)


def to_plans(jobs: JobTable, schedule: Schedule, forecast_name: str) -> list[Plan]:
    """Domain ``Plan`` objects (for adapters that act on single workloads)."""
    lever_codes = levers(jobs, schedule)
    plans = []
    for row in range(len(jobs)):
        segments = tuple(
            RunSegment(from_epoch_s(a), from_epoch_s(b)) for a, b in schedule.segments_of(row)
        )
        run_h = float(schedule.run_s[row]) / SECONDS_PER_HOUR
        plans.append(
            Plan(
                workload_id=jobs.job_ids[row],
                zone=jobs.zones[int(schedule.zone_index[row])],
                segments=segments,
                reason=reason_text(Reason(int(schedule.reason[row])), forecast_name),
                lever=_plan_lever(LEVER_ORDER[int(lever_codes[row])], len(segments)),
                forecast_g_per_kwh=float(schedule.believed_gh_per_kwh[row]) / run_h,
            )
        )
    return plans


def _plan_lever(start_lever: Lever, segments: int) -> Lever:
    """A plan's lever: its start's, or ``pause`` for split work that starts as submitted."""
    return Lever.PAUSE if start_lever is Lever.NONE and segments > 1 else start_lever


def replace_rows(base: Schedule, rows: IntArray, replacement: Schedule) -> Schedule:
    """``base`` with the plans of ``rows`` replaced by ``replacement``'s (row ``i`` -> ``rows[i]``).

    Re-planning decides a subset of jobs again; segments of the replaced rows are dropped and
    the replacement's are mapped onto the base rows, kept ordered by job, then time.
    """
    if len(replacement) != rows.size:
        raise ValueError("replace_rows: one replacement plan per row")

    def put(values: ArrayT, new: ArrayT) -> ArrayT:
        result = values.copy()
        result[rows] = new
        return result

    kept = ~np.isin(base.segment_rows, rows)
    segment_rows = np.concatenate([base.segment_rows[kept], rows[replacement.segment_rows]])
    segment_start_s = np.concatenate([base.segment_start_s[kept], replacement.segment_start_s])
    segment_end_s = np.concatenate([base.segment_end_s[kept], replacement.segment_end_s])
    order = np.lexsort((segment_start_s, segment_rows))
    return Schedule(
        zone_index=put(base.zone_index, replacement.zone_index),
        start_s=put(base.start_s, replacement.start_s),
        end_s=put(base.end_s, replacement.end_s),
        run_s=put(base.run_s, replacement.run_s),
        believed_gh_per_kwh=put(base.believed_gh_per_kwh, replacement.believed_gh_per_kwh),
        reason=put(base.reason, replacement.reason),
        segment_rows=segment_rows[order].astype(np.int64),
        segment_start_s=segment_start_s[order],
        segment_end_s=segment_end_s[order],
    )
