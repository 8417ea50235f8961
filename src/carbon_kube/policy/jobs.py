"""A columnar table of workloads: the form in which policies plan many jobs at once.

One row per job, one numpy array per field, times in epoch seconds (float64) and zones as
indices into ``zones`` (the forecast grid's zones). ``allowed`` is an ``n x zones`` mask that
always includes the home zone. ``from_workloads`` converts domain ``Workload`` objects; the
simulator's CSV reader builds the table directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from carbon_kube.domain.arrays import BoolArray, FloatArray, IntArray
from carbon_kube.domain.intensity import to_epoch_s
from carbon_kube.domain.workloads import Workload
from carbon_kube.domain.zones import Zone


@dataclass(frozen=True, slots=True)
class JobTable:
    """Jobs as arrays; validated on construction so policies can trust every row."""

    job_ids: Sequence[str]
    zones: tuple[Zone, ...]
    submit_s: FloatArray
    duration_s: FloatArray
    deadline_s: FloatArray
    cpus: FloatArray
    memory_gib: FloatArray
    home_zone: IntArray
    allowed: BoolArray
    interruptible: BoolArray

    def __post_init__(self) -> None:
        n = len(self.job_ids)
        for name in ("submit_s", "duration_s", "deadline_s", "cpus", "memory_gib"):
            if np.shape(getattr(self, name)) != (n,):
                raise ValueError(f"JobTable.{name} must have one value per job")
        if self.allowed.shape != (n, len(self.zones)):
            raise ValueError("JobTable.allowed must be jobs x zones")
        if n and (np.any(self.duration_s <= 0) or np.any(self.cpus <= 0)):
            raise ValueError("JobTable: durations and cpus must be positive")
        if n and np.any(self.deadline_s < self.submit_s):
            raise ValueError("JobTable: a deadline is before its submit time")
        if n and not np.all(self.allowed[np.arange(n), self.home_zone]):
            raise ValueError("JobTable: the home zone must be allowed")

    def __len__(self) -> int:
        return len(self.job_ids)

    @property
    def latest_start_s(self) -> FloatArray:
        """The last start that finishes by the deadline (before submit when infeasible)."""
        result: FloatArray = self.deadline_s - self.duration_s
        return result

    @property
    def infeasible(self) -> BoolArray:
        """Jobs whose deadline cannot be met even by starting at submit."""
        result: BoolArray = self.latest_start_s < self.submit_s
        return result

    def take(self, rows: IntArray) -> JobTable:
        """The sub-table of ``rows`` (in that order)."""
        return JobTable(
            job_ids=[self.job_ids[int(i)] for i in rows],
            zones=self.zones,
            submit_s=self.submit_s[rows],
            duration_s=self.duration_s[rows],
            deadline_s=self.deadline_s[rows],
            cpus=self.cpus[rows],
            memory_gib=self.memory_gib[rows],
            home_zone=self.home_zone[rows],
            allowed=self.allowed[rows],
            interruptible=self.interruptible[rows],
        )

    @classmethod
    def from_workloads(cls, workloads: Sequence[Workload], zones: tuple[Zone, ...]) -> JobTable:
        """Convert domain workloads; a zone not in ``zones`` is a ``KeyError`` naming the job."""
        index = {zone: i for i, zone in enumerate(zones)}
        allowed = np.zeros((len(workloads), len(zones)), dtype=np.bool_)
        home = np.zeros(len(workloads), dtype=np.int64)
        for row, workload in enumerate(workloads):
            for zone in workload.candidate_zones:
                if zone not in index:
                    raise KeyError(f"workload {workload.workload_id}: zone {zone} has no data")
                allowed[row, index[zone]] = True
            home[row] = index[workload.home_zone]
        return cls(
            job_ids=[w.workload_id for w in workloads],
            zones=zones,
            submit_s=np.array([to_epoch_s(w.submit_at) for w in workloads], dtype=np.float64),
            duration_s=np.array(
                [w.expected_duration.total_seconds() for w in workloads], dtype=np.float64
            ),
            deadline_s=np.array([to_epoch_s(w.deadline) for w in workloads], dtype=np.float64),
            cpus=np.array([w.cpus for w in workloads], dtype=np.float64),
            memory_gib=np.array([w.memory_gib for w in workloads], dtype=np.float64),
            home_zone=home,
            allowed=allowed,
            interruptible=np.array([w.interruptible for w in workloads], dtype=np.bool_),
        )
