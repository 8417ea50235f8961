"""SWIM's Facebook MapReduce workloads: job sizes in bytes, turned into runtime and vCPUs.

The TSV has no header and six columns (``job_id, submit_time_seconds,
inter_job_submit_gap_seconds, map_input_bytes, shuffle_bytes, reduce_output_bytes``) and records
**no duration and no CPU request**. ``SwimModel`` derives them from the bytes with a simple
Hadoop model whose every number is an assumption (stated, not measured) that callers may change:

* map tasks = ceil(map input / block size), at least 1; reduce tasks = ceil(shuffle bytes /
  bytes per reducer), 0 for map-only jobs; one vCPU per task (YARN's default container);
* each phase runs its tasks at once, capped at ``max_parallel_vcpus``:
  map time = input / (map vCPUs x map throughput); reduce time = (shuffle + output) /
  (reduce vCPUs x reduce throughput);
* duration = ``overhead_s`` (job start-up, one vCPU) + map time + reduce time, whole seconds;
* cpus = vCPU-seconds / duration, the *average* vCPUs over the run, so that cpus x duration
  is the work's vCPU-seconds and energy is neither inflated nor lost;
* memory = cpus x ``memory_gib_per_vcpu`` (YARN's default 1 vCPU : 2 GiB container).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from carbon_kube.domain.arrays import FloatArray
from carbon_kube.domain.limits import JOB_DELAY_S
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.sim.traces.conversion import (
    ConvertedTrace,
    ConvertOptions,
    RawJobs,
    assemble,
    whole_seconds,
)
from carbon_kube.sim.traces.reading import RowCheck, parse_numbers, read_table

_COLUMNS = (
    "job_id",
    "submit_time_seconds",
    "inter_job_submit_gap_seconds",
    "map_input_bytes",
    "shuffle_bytes",
    "reduce_output_bytes",
)
_FIRST_LINE = 1
_MIB = 1024.0**2


@dataclass(frozen=True, slots=True)
class SwimModel:
    """The bytes -> (duration, vCPUs, memory) model of the module docstring."""

    block_mib: float = 128.0
    mib_per_reducer: float = 1024.0
    map_mib_per_s_per_vcpu: float = 50.0
    reduce_mib_per_s_per_vcpu: float = 20.0
    overhead_s: float = 15.0
    max_parallel_vcpus: int = 100
    memory_gib_per_vcpu: float = 2.0

    def __post_init__(self) -> None:
        positive = (
            self.block_mib,
            self.mib_per_reducer,
            self.map_mib_per_s_per_vcpu,
            self.reduce_mib_per_s_per_vcpu,
            self.max_parallel_vcpus,
        )
        if min(positive) <= 0 or self.overhead_s < 0 or self.memory_gib_per_vcpu < 0:
            raise ValueError("SWIM model: sizes and throughputs must be positive")

    def describe(self) -> str:
        return (
            f"SWIM model: {self.block_mib:g} MiB per map task, {self.mib_per_reducer:g} MiB "
            f"shuffle per reducer, {self.map_mib_per_s_per_vcpu:g}/"
            f"{self.reduce_mib_per_s_per_vcpu:g} MiB/s per vCPU (map/reduce), "
            f"{self.overhead_s:g} s start-up, at most {self.max_parallel_vcpus} vCPUs per phase, "
            f"{self.memory_gib_per_vcpu:g} GiB per vCPU"
        )

    def size_jobs(
        self, map_bytes: FloatArray, shuffle_bytes: FloatArray, output_bytes: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """(duration in seconds, average vCPUs) per job, before rounding to whole seconds."""
        map_tasks = np.maximum(1.0, np.ceil(map_bytes / (self.block_mib * _MIB)))
        reduce_tasks = np.ceil(shuffle_bytes / (self.mib_per_reducer * _MIB))
        map_vcpus = np.minimum(map_tasks, self.max_parallel_vcpus)
        reduce_vcpus = np.minimum(np.maximum(reduce_tasks, 1.0), self.max_parallel_vcpus)
        map_s = map_bytes / _MIB / (map_vcpus * self.map_mib_per_s_per_vcpu)
        reduce_s = (
            (shuffle_bytes + output_bytes) / _MIB / (reduce_vcpus * self.reduce_mib_per_s_per_vcpu)
        )
        duration_s = self.overhead_s + map_s + reduce_s
        vcpu_s = self.overhead_s + map_vcpus * map_s + reduce_vcpus * reduce_s
        return duration_s, vcpu_s / duration_s


def convert_swim(
    path: Path, options: ConvertOptions, *, model: SwimModel | None = None
) -> ConvertedTrace:
    """Read a SWIM workload and size its jobs with ``model`` (defaults in ``SwimModel``)."""
    model = model or SwimModel()
    frame = read_table(path, header=False, names=_COLUMNS, sep="\t")
    numbers = {
        column: parse_numbers(frame, column, path=path, first_line=_FIRST_LINE)
        for column in _COLUMNS[1:]
    }
    check = RowCheck(path, _FIRST_LINE)
    for column, values in numbers.items():
        if column != "inter_job_submit_gap_seconds":
            check.reject(values < 0, "expected a value >= 0", values=values, column=column)
    submit = numbers["submit_time_seconds"]
    check.within(submit, JOB_DELAY_S, column="submit_time_seconds")
    duration_s, cpus = model.size_jobs(
        numbers["map_input_bytes"], numbers["shuffle_bytes"], numbers["reduce_output_bytes"]
    )
    whole = whole_seconds(duration_s)
    # Rounding the duration changes vCPU-seconds slightly; rescale cpus to keep them exact.
    cpus = cpus * duration_s / whole
    raw = RawJobs(
        job_id=[str(job).strip() for job in frame["job_id"]],
        offset_s=np.rint(submit).astype(np.int64),
        duration_s=whole,
        cpus=cpus,
        memory_gib=cpus * model.memory_gib_per_vcpu,
        kind=WorkloadKind.SPARK,
    )
    return ConvertedTrace(
        table=assemble(raw, options),
        rows_read=len(frame),
        notes=(model.describe(), f"slack: {options.slack.describe()}"),
    )
