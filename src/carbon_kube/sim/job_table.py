"""Jobs in columns, and writing them as the job-trace CSV contract (DESIGN.md section 4).

``job_id,submit_time,duration_s,cpus[,memory_gib][,deadline][,zone][,allowed_zones]
[,interruptible][,kind]`` with RFC 3339 UTC times (``2022-01-01T00:00:00Z``) and
``allowed_zones`` separated by ``;``. Optional columns are written only when the table has them,
so a converter never invents a value it does not know (e.g. memory for GAIA's traces).

This module only holds and writes jobs; reading the contract back belongs to the simulator.
Instants are whole epoch seconds (int64) and durations whole seconds: trace sources are at best
second-resolution, and whole seconds keep the CSV exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from carbon_kube.domain.arrays import BoolArray, FloatArray, IntArray
from carbon_kube.domain.instants import format_rfc3339_epoch_s
from carbon_kube.domain.intensity import from_epoch_s
from carbon_kube.domain.workloads import Workload, WorkloadKind
from carbon_kube.domain.zones import Zone
from carbon_kube.policy.jobs import JobTable
from carbon_kube.storage.atomic import write_atomically


@dataclass(frozen=True)
class JobTrace:
    """``n`` jobs as parallel columns; ``None`` means the column is absent from the trace.

    A trace in the CSV contract's terms (zone names, optional columns), not the engine's
    ``JobTable`` (``policy/jobs.py``): ``to_policy_jobs`` binds it to a grid's zones.

    ``deadline_s`` is the latest *finish* (epoch seconds), the contract's ``deadline``. A job
    without a deadline column gets whatever default the simulator applies.
    """

    job_id: Sequence[str]
    submit_s: IntArray
    duration_s: IntArray
    cpus: FloatArray
    memory_gib: FloatArray | None = None
    deadline_s: IntArray | None = None
    zone: Sequence[str] | None = None
    allowed_zones: Sequence[str] | None = None
    interruptible: BoolArray | None = None
    kind: Sequence[str] | None = None

    def __post_init__(self) -> None:
        n = len(self.job_id)
        for name in (
            "submit_s",
            "duration_s",
            "cpus",
            "memory_gib",
            "deadline_s",
            "zone",
            "allowed_zones",
            "interruptible",
            "kind",
        ):
            column = getattr(self, name)
            if column is not None and len(column) != n:
                raise ValueError(f"JobTable: column {name} has {len(column)} rows, expected {n}")
        if n and int(np.min(self.duration_s)) <= 0:
            raise ValueError("JobTable: every duration_s must be positive")
        if n and float(np.min(self.cpus)) <= 0:
            raise ValueError("JobTable: every cpus must be positive")
        if self.deadline_s is not None and n and np.any(self.deadline_s < self.submit_s):
            raise ValueError("JobTable: a deadline is before its submit time")

    def __len__(self) -> int:
        return len(self.job_id)

    def head(self, n: int) -> JobTrace:
        """The first ``n`` jobs (all of them when ``n`` is larger than the table)."""
        return self.take(np.arange(min(n, len(self))))

    def take(self, rows: IntArray) -> JobTrace:
        """The jobs at positions ``rows``, in that order."""

        def pick_list(column: Sequence[str] | None) -> list[str] | None:
            return None if column is None else [column[int(i)] for i in rows]

        return JobTrace(
            job_id=[self.job_id[int(i)] for i in rows],
            submit_s=self.submit_s[rows],
            duration_s=self.duration_s[rows],
            cpus=self.cpus[rows],
            memory_gib=None if self.memory_gib is None else self.memory_gib[rows],
            deadline_s=None if self.deadline_s is None else self.deadline_s[rows],
            zone=pick_list(self.zone),
            allowed_zones=pick_list(self.allowed_zones),
            interruptible=None if self.interruptible is None else self.interruptible[rows],
            kind=pick_list(self.kind),
        )

    def sorted_by_submit(self) -> JobTrace:
        """Stable sort by submit time, so equal submits keep the source order."""
        return self.take(np.argsort(self.submit_s, kind="stable").astype(np.int64))

    def cpu_hours(self) -> float:
        """Requested vCPU-hours of the whole table: a size check that survives unit mistakes."""
        return float(np.sum(self.cpus * self.duration_s) / 3600.0)


def to_frame(table: JobTrace) -> pd.DataFrame:
    """The contract's columns, in the contract's order, as strings and numbers."""
    columns: dict[str, object] = {
        "job_id": list(table.job_id),
        "submit_time": format_rfc3339_epoch_s(table.submit_s),
        "duration_s": table.duration_s,
        "cpus": table.cpus,
    }
    if table.memory_gib is not None:
        columns["memory_gib"] = table.memory_gib
    if table.deadline_s is not None:
        columns["deadline"] = format_rfc3339_epoch_s(table.deadline_s)
    if table.zone is not None:
        columns["zone"] = list(table.zone)
    if table.allowed_zones is not None:
        columns["allowed_zones"] = list(table.allowed_zones)
    if table.interruptible is not None:
        columns["interruptible"] = np.where(table.interruptible, "true", "false")
    if table.kind is not None:
        columns["kind"] = list(table.kind)
    return pd.DataFrame(columns)


def write_jobs_csv(table: JobTrace, path: Path) -> None:
    """Write ``table`` to ``path`` atomically: on failure no half-written file is left behind."""
    frame = to_frame(table)
    write_atomically(path, lambda temp: frame.to_csv(temp, index=False, float_format="%.6g"))


def to_workloads(table: JobTrace, *, default_zone: Zone) -> list[Workload]:
    """Domain ``Workload`` objects; a job without a deadline gets none to spare (deadline = end).

    ``default_zone`` is the home zone of jobs whose table has no ``zone`` column.
    """
    workloads: list[Workload] = []
    for i, job_id in enumerate(table.job_id):
        submit_s = int(table.submit_s[i])
        duration_s = int(table.duration_s[i])
        deadline_s = submit_s + duration_s if table.deadline_s is None else table.deadline_s[i]
        allowed = () if table.allowed_zones is None else table.allowed_zones[i].split(";")
        workloads.append(
            Workload(
                workload_id=job_id,
                submit_at=from_epoch_s(submit_s),
                expected_duration=timedelta(seconds=duration_s),
                cpus=float(table.cpus[i]),
                memory_gib=0.0 if table.memory_gib is None else float(table.memory_gib[i]),
                deadline=from_epoch_s(int(deadline_s)),
                home_zone=default_zone if table.zone is None else Zone(table.zone[i]),
                allowed_zones=tuple(Zone(z) for z in allowed if z),
                interruptible=False
                if table.interruptible is None
                else bool(table.interruptible[i]),
                kind=WorkloadKind.JOB if table.kind is None else WorkloadKind(table.kind[i]),
            )
        )
    return workloads


def to_policy_jobs(
    table: JobTrace, zones: Sequence[Zone], *, default_zone: Zone | None = None
) -> JobTable:
    """The policies' columnar table, without building a ``Workload`` per job (fast at 1M jobs).

    ``zones`` are the intensity grid's zones, in its order. A job's home zone comes from the
    ``zone`` column, else ``default_zone``; its allowed zones from ``allowed_zones`` (the home
    zone is always allowed). A zone not in ``zones`` is a ``KeyError`` naming the job. Without a
    deadline column a job has no slack (deadline = submit + duration).
    """
    index = {str(zone): i for i, zone in enumerate(zones)}
    n = len(table)

    def zone_at(name: str, row: int) -> int:
        if name not in index:
            raise KeyError(f"job {table.job_id[row]}: zone {name} has no intensity data")
        return index[name]

    if table.zone is None:
        if default_zone is None:
            raise KeyError("the jobs have no zone column; pass default_zone")
        home = np.full(n, zone_at(default_zone, 0) if n else 0, dtype=np.int64)
    else:
        codes = {name: zone_at(name, table.zone.index(name)) for name in set(table.zone)}
        home = np.array([codes[name] for name in table.zone], dtype=np.int64)
    allowed = np.zeros((n, len(zones)), dtype=np.bool_)
    allowed[np.arange(n), home] = True
    if table.allowed_zones is not None:
        for text in set(table.allowed_zones):
            rows = np.array([t == text for t in table.allowed_zones], dtype=np.bool_)
            first = int(np.flatnonzero(rows)[0])
            for name in filter(None, text.split(";")):
                allowed[rows, zone_at(name, first)] = True
    submit_s = table.submit_s.astype(np.float64)
    duration_s = table.duration_s.astype(np.float64)
    deadline_s = (
        submit_s + duration_s if table.deadline_s is None else table.deadline_s.astype(np.float64)
    )
    return JobTable(
        job_ids=list(table.job_id),
        zones=tuple(zones),
        submit_s=submit_s,
        duration_s=duration_s,
        deadline_s=deadline_s,
        cpus=table.cpus.astype(np.float64),
        memory_gib=(
            np.zeros(n) if table.memory_gib is None else table.memory_gib.astype(np.float64)
        ),
        home_zone=home,
        allowed=allowed,
        interruptible=(
            np.zeros(n, dtype=np.bool_) if table.interruptible is None else table.interruptible
        ),
    )
