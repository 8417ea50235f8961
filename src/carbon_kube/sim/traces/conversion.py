"""What every trace converter shares: options, the result, and turning raw jobs into a table.

A converter reads its format into ``RawJobs``: offsets in whole seconds from the trace's own
t = 0, durations in whole seconds, vCPUs and (if the source has it) memory. ``assemble`` then
does what is the same for every format: place t = 0 at the chosen calendar ``start``, sort by
submit time, keep the first ``limit`` jobs, apply the slack rule, and stamp zones, the
interruptible flag and the kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from carbon_kube.domain.arrays import FloatArray, IntArray
from carbon_kube.domain.clock import require_utc
from carbon_kube.domain.intensity import to_epoch_s
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.domain.zones import Zone
from carbon_kube.sim.job_trace import JobTrace
from carbon_kube.sim.traces.slack import DEFAULT_SLACK, SlackRule

DEFAULT_START = datetime(2022, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ConvertOptions:
    """Choices that are not in any trace; the defaults are the ones the docs state.

    ``start`` is the calendar instant of the trace's t = 0 (traces count from their own start).
    ``zone`` becomes every job's home zone and ``allowed_zones`` the zones it may move to;
    ``interruptible`` is written only when given, since no trace records it.
    """

    start: datetime = DEFAULT_START
    slack: SlackRule = DEFAULT_SLACK
    zone: Zone | None = None
    allowed_zones: tuple[Zone, ...] = ()
    interruptible: bool | None = None
    limit: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", require_utc(self.start, "--start"))
        if self.limit is not None and self.limit <= 0:
            raise ValueError("limit must be positive")


@dataclass(frozen=True)
class RawJobs:
    """Jobs as a converter read them, before calendar placement and slack."""

    job_id: list[str]
    offset_s: IntArray
    duration_s: IntArray
    cpus: FloatArray
    memory_gib: FloatArray | None
    kind: WorkloadKind


@dataclass(frozen=True)
class ConvertedTrace:
    """The converted jobs and an account of what happened to the source rows."""

    table: JobTrace
    rows_read: int
    skipped: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def assemble(raw: RawJobs, options: ConvertOptions) -> JobTrace:
    """Place, sort, cut, and add deadlines, zones, flags and kinds (see the module docstring)."""
    order = np.argsort(raw.offset_s, kind="stable")
    if options.limit is not None:
        order = order[: options.limit]
    submit_s = to_epoch_s(options.start) + raw.offset_s[order]
    duration_s = raw.duration_s[order]
    n = len(order)
    allowed = ";".join(options.allowed_zones)
    return JobTrace(
        job_id=[raw.job_id[int(i)] for i in order],
        submit_s=submit_s.astype(np.int64),
        duration_s=duration_s.astype(np.int64),
        cpus=raw.cpus[order],
        memory_gib=None if raw.memory_gib is None else raw.memory_gib[order],
        deadline_s=options.slack.deadlines_s(submit_s, duration_s),
        zone=None if options.zone is None else [str(options.zone)] * n,
        allowed_zones=[allowed] * n if options.allowed_zones else None,
        interruptible=(
            None if options.interruptible is None else np.full(n, options.interruptible)
        ),
        kind=[str(raw.kind)] * n,
    )


def whole_seconds(seconds: FloatArray) -> IntArray:
    """Round to whole seconds, never below 1 s: a job that ran is never zero-length."""
    rounded: IntArray = np.maximum(np.rint(seconds), 1).astype(np.int64)
    return rounded
