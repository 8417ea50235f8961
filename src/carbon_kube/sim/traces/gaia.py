"""GAIA's job traces (ASPLOS'24 artifact): ``arrival_time,length,cpus``, one job per row.

The 100k traces (PAI, Azure, Mustang) count arrival and length in **hours** from the trace's
own t = 0; ``pai_1k.csv`` uses **seconds** (``time_unit=SECONDS``). Times are rounded to whole
seconds and a length never becomes shorter than 1 s. A file read in hours whose lengths exceed
1,000 h (41 days; GAIA's longest is 72 h) is almost certainly in seconds, and is refused with
that hint rather than turned into year-long jobs. Jobs are named ``<file stem>-<row>`` with the
0-based data row, so a job can be traced back to its source line (line = row + 2).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import numpy as np

from carbon_kube.domain.limits import JOB_DELAY_S, JOB_DURATION_S, JOB_VCPUS
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.sim.traces.conversion import (
    ConvertedTrace,
    ConvertOptions,
    RawJobs,
    assemble,
    whole_seconds,
)
from carbon_kube.sim.traces.reading import RowCheck, parse_numbers, read_table, require_columns

_COLUMNS = ("arrival_time", "length", "cpus")
_FIRST_LINE = 2
_MAX_PLAUSIBLE_LENGTH_H = 1000.0


class TimeUnit(StrEnum):
    HOURS = "hours"
    SECONDS = "seconds"


_UNIT_S = {TimeUnit.HOURS: 3600.0, TimeUnit.SECONDS: 1.0}


def convert_gaia(
    path: Path, options: ConvertOptions, *, time_unit: TimeUnit = TimeUnit.HOURS
) -> ConvertedTrace:
    """Read a GAIA trace and return it as jobs on the calendar from ``options.start``."""
    frame = read_table(path, header=True)
    require_columns(frame, _COLUMNS, path, "A GAIA trace has the header arrival_time,length,cpus.")
    arrival = parse_numbers(frame, "arrival_time", path=path, first_line=_FIRST_LINE)
    length = parse_numbers(frame, "length", path=path, first_line=_FIRST_LINE)
    cpus = parse_numbers(frame, "cpus", path=path, first_line=_FIRST_LINE)
    check = RowCheck(path, _FIRST_LINE)
    check.reject(arrival < 0, "arrival must be >= 0", values=arrival, column="arrival_time")
    check.reject(length <= 0, "length must be positive", values=length, column="length")
    check.reject(cpus <= 0, "cpus must be positive", values=cpus, column="cpus")
    if time_unit is TimeUnit.HOURS and length.size and length.max() > _MAX_PLAUSIBLE_LENGTH_H:
        check.reject(
            length > _MAX_PLAUSIBLE_LENGTH_H,
            "length over 1000 h while reading hours; if this file counts seconds "
            "(like GAIA's pai_1k.csv) pass --time-unit seconds",
            values=length,
            column="length",
        )
    unit_s = _UNIT_S[time_unit]
    check.within(arrival, JOB_DELAY_S, column="arrival_time", unit_s=unit_s)
    check.within(length, JOB_DURATION_S, column="length", unit_s=unit_s)
    check.within(cpus, JOB_VCPUS, column="cpus")
    raw = RawJobs(
        job_id=[f"{_stem(path)}-{i}" for i in range(len(frame))],
        offset_s=np.rint(arrival * unit_s).astype(np.int64),
        duration_s=whole_seconds(length * unit_s),
        cpus=cpus,
        memory_gib=None,
        kind=WorkloadKind.JOB,
    )
    return ConvertedTrace(
        table=assemble(raw, options),
        rows_read=len(frame),
        notes=(
            f"arrival and length read in {time_unit}; "
            f"t = 0 placed at {options.start:%Y-%m-%d %H:%M} UTC",
            f"slack: {options.slack.describe()}",
            "no memory column: GAIA's traces carry none",
        ),
    )


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".csv"):
        name = name.removesuffix(suffix)
    return name
