"""Trace converters: public job traces -> the job-trace CSV contract (README, Contracts).

::

    gaia           GAIA's arrival/length/cpus traces (hours; pai_1k in seconds)
    swim           SWIM's Facebook MapReduce day-long workloads (bytes -> runtime model)
    alibaba-batch  Alibaba v2018 batch_task rows (per job or per task)

Every converter reads its file, refuses malformed rows with file/line/field, counts the rows it
skips for documented reasons, and hands ``RawJobs`` to ``assemble`` for calendar placement and
slack. Nothing here decides where or when a job runs.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from carbon_kube.sim.traces.alibaba import AlibabaUnit, convert_alibaba_batch
from carbon_kube.sim.traces.conversion import (
    DEFAULT_START,
    ConvertedTrace,
    ConvertOptions,
    RawJobs,
    assemble,
)
from carbon_kube.sim.traces.gaia import TimeUnit, convert_gaia
from carbon_kube.sim.traces.slack import DEFAULT_SLACK, SlackKind, SlackRule, parse_slack
from carbon_kube.sim.traces.swim import SwimModel, convert_swim

__all__ = [
    "DEFAULT_SLACK",
    "DEFAULT_START",
    "AlibabaUnit",
    "ConvertOptions",
    "ConvertedTrace",
    "RawJobs",
    "SlackKind",
    "SlackRule",
    "SwimModel",
    "TimeUnit",
    "TraceFormat",
    "assemble",
    "convert_alibaba_batch",
    "convert_gaia",
    "convert_swim",
    "convert_trace",
    "parse_slack",
]


class TraceFormat(StrEnum):
    GAIA = "gaia"
    SWIM = "swim"
    ALIBABA_BATCH = "alibaba-batch"


def convert_trace(
    trace_format: TraceFormat,
    path: Path,
    options: ConvertOptions,
    *,
    time_unit: TimeUnit = TimeUnit.HOURS,
    swim_model: SwimModel | None = None,
    alibaba_unit: AlibabaUnit = AlibabaUnit.JOB,
    machine_memory_gib: float | None = None,
) -> ConvertedTrace:
    """Convert ``path`` in ``trace_format``; format-specific knobs apply only to their format."""
    if trace_format is TraceFormat.GAIA:
        return convert_gaia(path, options, time_unit=time_unit)
    if trace_format is TraceFormat.SWIM:
        return convert_swim(path, options, model=swim_model)
    return convert_alibaba_batch(
        path, options, unit=alibaba_unit, machine_memory_gib=machine_memory_gib
    )
