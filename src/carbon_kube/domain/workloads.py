"""Workloads: what a flexible job asks of the scheduler.

A workload may start at ``submit_at`` at the earliest and must finish by ``deadline``; its
``latest_start`` is therefore ``deadline - expected_duration``. A workload whose latest start is
before its submit time cannot meet its deadline at all: it is kept and reported, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from carbon_kube.domain.clock import require_utc
from carbon_kube.domain.zones import Zone


class WorkloadKind(StrEnum):
    """The Kubernetes object that carries the work, which decides how it is held."""

    JOB = "job"
    SPARK = "spark"
    FLINK = "flink"
    POD = "pod"


@dataclass(frozen=True, slots=True)
class Workload:
    """One unit of flexible work, in domain units (vCPU, GiB, UTC instants, timedeltas)."""

    workload_id: str
    submit_at: datetime
    expected_duration: timedelta
    cpus: float
    memory_gib: float
    deadline: datetime
    home_zone: Zone
    allowed_zones: tuple[Zone, ...] = ()
    interruptible: bool = False
    kind: WorkloadKind = WorkloadKind.JOB

    def __post_init__(self) -> None:
        object.__setattr__(self, "submit_at", require_utc(self.submit_at, self.workload_id))
        object.__setattr__(self, "deadline", require_utc(self.deadline, self.workload_id))
        if self.expected_duration <= timedelta(0):
            raise ValueError(f"workload {self.workload_id}: expected_duration must be positive")
        if self.cpus <= 0:
            raise ValueError(f"workload {self.workload_id}: cpus must be positive")
        if self.memory_gib < 0:
            raise ValueError(f"workload {self.workload_id}: memory_gib must be >= 0")
        if self.deadline < self.submit_at:
            raise ValueError(f"workload {self.workload_id}: deadline is before submit time")

    @property
    def latest_start(self) -> datetime:
        """The last start that still finishes by the deadline."""
        return self.deadline - self.expected_duration

    @property
    def can_meet_deadline(self) -> bool:
        """False when even starting at submit finishes after the deadline."""
        return self.latest_start >= self.submit_at

    @property
    def slack(self) -> timedelta:
        """How long the start may be delayed (negative when the deadline cannot be met)."""
        return self.latest_start - self.submit_at

    @property
    def candidate_zones(self) -> tuple[Zone, ...]:
        """Zones the work may run in; the home zone is always allowed."""
        zones = (self.home_zone, *self.allowed_zones)
        return tuple(dict.fromkeys(zones))
