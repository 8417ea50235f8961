"""Alibaba cluster-trace-v2018 ``batch_task`` rows (as in PCAPS' sample) as jobs or tasks.

Columns (header as in the PCAPS file; v2018 names in brackets): ``task_name, task_count
[instance_num], job_id [job_name], none1 [task_type], status, start_time, end_time,
none2 [plan_cpu], none3 [plan_mem]``. Times are seconds from the trace start; ``plan_cpu`` is
per instance with 100 = 1 core; ``plan_mem`` is per instance on a 0..100 scale of one machine's
memory, so it becomes GiB only with a stated ``machine_memory_gib`` (none is published; without
it the memory column is left out rather than guessed).

Rows that cannot describe a run are skipped and counted, because the source documents them:
unfinished tasks (``end_time`` 0), and tasks with no instance count or no CPU request. Anything
else that is not a number, or ends before it starts, is malformed and stops the conversion.

``unit=JOB`` (default) makes one job per ``job_id``: submit = first task start, duration = last
task end - first start, cpus = requested core-seconds of all its tasks / duration (the average,
so energy is preserved; the DAG's precedence inside the job is kept by not splitting it).
``unit=TASK`` makes one job per task row (``<job_id>-<task_name>``), cores = instances x plan_cpu.
Tasks that started and ended in the same second ran for under a second: they last 1 s.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd

from carbon_kube.domain.limits import JOB_DELAY_S
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.sim.traces.conversion import (
    ConvertedTrace,
    ConvertOptions,
    RawJobs,
    assemble,
    whole_seconds,
)
from carbon_kube.sim.traces.reading import RowCheck, parse_numbers, read_table, require_columns

_COLUMNS = ("task_name", "task_count", "job_id", "status", "start_time", "end_time", "none2")
_CPU, _MEM = "none2", "none3"
_FIRST_LINE = 2


class AlibabaUnit(StrEnum):
    JOB = "job"
    TASK = "task"


def convert_alibaba_batch(
    path: Path,
    options: ConvertOptions,
    *,
    unit: AlibabaUnit = AlibabaUnit.JOB,
    machine_memory_gib: float | None = None,
) -> ConvertedTrace:
    """Read a v2018 batch_task sample and return jobs (or tasks) on the calendar."""
    frame = read_table(path, header=True)
    require_columns(
        frame,
        _COLUMNS,
        path,
        "Expected the PCAPS header task_name,task_count,job_id,none1,status,start_time,"
        "end_time,none2,none3.",
    )
    if machine_memory_gib is not None and _MEM not in frame.columns:
        require_columns(frame, (_MEM,), path, "Memory needs the plan_mem column (none3).")
    start = parse_numbers(frame, "start_time", path=path, first_line=_FIRST_LINE)
    end = parse_numbers(frame, "end_time", path=path, first_line=_FIRST_LINE)
    instances = parse_numbers(
        frame, "task_count", path=path, first_line=_FIRST_LINE, allow_empty=True
    )
    plan_cpu = parse_numbers(frame, _CPU, path=path, first_line=_FIRST_LINE, allow_empty=True)
    plan_mem = (
        parse_numbers(frame, _MEM, path=path, first_line=_FIRST_LINE, allow_empty=True)
        if machine_memory_gib is not None
        else np.zeros(len(frame))
    )
    check = RowCheck(path, _FIRST_LINE)
    check.reject(start < 0, "start_time must be >= 0", values=start, column="start_time")
    unfinished = end == 0
    check.reject(
        ~unfinished & (end < start),
        "end_time is before start_time",
        values=end,
        column="end_time",
    )
    for column, values in (("task_count", instances), (_CPU, plan_cpu), (_MEM, plan_mem)):
        check.reject(values < 0, "expected a value >= 0", values=values, column=column)
    check.within(start, JOB_DELAY_S, column="start_time")
    check.within(np.where(unfinished, start, end), JOB_DELAY_S, column="end_time")

    skipped = {
        "unfinished (end_time 0)": int(unfinished.sum()),
        "no instance count": int((~unfinished & np.isnan(instances)).sum()),
        "no CPU request": int((~unfinished & ~np.isnan(instances) & np.isnan(plan_cpu)).sum()),
    }
    usable = ~unfinished & ~np.isnan(instances) & ~np.isnan(plan_cpu)
    if machine_memory_gib is not None:
        no_memory = usable & np.isnan(plan_mem)
        skipped["no memory request"] = int(no_memory.sum())
        usable &= ~no_memory
    zero = usable & (instances * plan_cpu <= 0)
    skipped["zero CPU request"] = int(zero.sum())
    usable &= ~zero

    rows = frame.loc[usable]
    tasks = pd.DataFrame(
        {
            "job": rows["job_id"].str.strip().to_numpy(),
            "task": rows["task_name"].str.strip().to_numpy(),
            "start": start[usable],
            "duration": whole_seconds(end[usable] - start[usable]).astype(np.float64),
            "cores": instances[usable] * plan_cpu[usable] / 100.0,
            "memory_gib": instances[usable] * plan_mem[usable] / 100.0 * (machine_memory_gib or 0),
        }
    )
    raw = _per_task(tasks) if unit is AlibabaUnit.TASK else _per_job(tasks)
    if machine_memory_gib is None:
        raw = RawJobs(raw.job_id, raw.offset_s, raw.duration_s, raw.cpus, None, raw.kind)
    notes = [
        f"one {unit} per output row; cpus = "
        + ("instances x plan_cpu / 100" if unit is AlibabaUnit.TASK else "core-seconds / duration"),
        f"slack: {options.slack.describe()}",
        "memory: "
        + (
            f"plan_mem% of a {machine_memory_gib:g} GiB machine"
            if machine_memory_gib is not None
            else "left out (pass --machine-memory-gib to convert plan_mem)"
        ),
    ]
    return ConvertedTrace(
        table=assemble(raw, options),
        rows_read=len(frame),
        skipped={reason: count for reason, count in skipped.items() if count},
        notes=tuple(notes),
    )


def _per_task(tasks: pd.DataFrame) -> RawJobs:
    return RawJobs(
        job_id=[f"{job}-{task}" for job, task in zip(tasks["job"], tasks["task"], strict=True)],
        offset_s=tasks["start"].to_numpy(dtype=np.int64),
        duration_s=tasks["duration"].to_numpy(dtype=np.int64),
        cpus=tasks["cores"].to_numpy(dtype=np.float64),
        memory_gib=tasks["memory_gib"].to_numpy(dtype=np.float64),
        kind=WorkloadKind.SPARK,
    )


def _per_job(tasks: pd.DataFrame) -> RawJobs:
    tasks = tasks.assign(
        end=tasks["start"] + tasks["duration"],
        core_s=tasks["cores"] * tasks["duration"],
        gib_s=tasks["memory_gib"] * tasks["duration"],
    )
    jobs = tasks.groupby("job", sort=False).agg(
        start=("start", "min"),
        end=("end", "max"),
        core_s=("core_s", "sum"),
        gib_s=("gib_s", "sum"),
    )
    duration = (jobs["end"] - jobs["start"]).to_numpy(dtype=np.float64)
    return RawJobs(
        job_id=[str(job) for job in jobs.index],
        offset_s=jobs["start"].to_numpy(dtype=np.int64),
        duration_s=duration.astype(np.int64),
        cpus=jobs["core_s"].to_numpy(dtype=np.float64) / duration,
        memory_gib=jobs["gib_s"].to_numpy(dtype=np.float64) / duration,
        kind=WorkloadKind.SPARK,
    )
