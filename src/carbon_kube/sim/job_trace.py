"""The job-trace CSV contract (README, Contracts): one trace type, its reader and its writer.

``job_id,submit_time,duration_s,cpus[,memory_gib][,deadline|max_delay_s][,zone][,allowed_zones]
[,interruptible][,kind]``; times RFC 3339 with an offset (``Z``), ``allowed_zones`` separated by
``;``. ``JobTrace`` holds a trace in the contract's terms (zone names, optional columns);
``read_job_trace`` parses a file into one, ``write_jobs_csv`` writes one, and
``check_against_intensity`` / ``to_policy_jobs`` bind it to an intensity grid as the engine's
``JobTable`` (``policy/jobs.py``). Parsing is vectorised (pandas) so a million rows take
seconds, and every defect names the file, the line, the job id and the field, and says how to
fix it.

Reading, at the edges: without ``deadline`` or ``max_delay_s`` (column absent or cell empty) a
job may be delayed by ``default_max_delay`` (0 by default: no flexibility); ``max_delay_s`` is
the delay allowed to the *start*, so the deadline is ``submit + max_delay + duration``. A
deadline before the submit time is an error; a deadline too early for the duration is kept and
reported as infeasible. A row without a zone uses ``default_zone``. Zones absent from the
intensity data and windows the data do not cover are checked by ``check_against_intensity``
(error, or skip the job).

Writing: optional columns are written only when the trace has them, so a converter never
invents a value it does not know (e.g. memory for GAIA's traces). Converters build whole epoch
seconds (trace sources are at best second-resolution); a trace read from a file keeps the
file's fractional seconds.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd

from carbon_kube.domain.arrays import BoolArray, FloatArray, IntArray
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.instants import format_rfc3339, format_rfc3339_epoch_s
from carbon_kube.domain.intensity import from_epoch_s
from carbon_kube.domain.limits import (
    JOB_DELAY_S,
    JOB_DURATION_S,
    JOB_MEMORY_GIB,
    JOB_VCPUS,
    Limit,
)
from carbon_kube.domain.workloads import Workload, WorkloadKind
from carbon_kube.domain.zones import Zone, parse_zone
from carbon_kube.policy.grids import StepGrid
from carbon_kube.policy.jobs import JobTable
from carbon_kube.storage.atomic import write_atomically
from carbon_kube.storage.reading import check_row_widths, read_user_text

REQUIRED = ("job_id", "submit_time", "duration_s", "cpus")
OPTIONAL = (
    "memory_gib",
    "deadline",
    "max_delay_s",
    "zone",
    "allowed_zones",
    "interruptible",
    "kind",
)
_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n", ""}
_OFFSET = r"(?:[zZ]|[+-]\d{2}:?\d{2})$"
_FIRST_DATA_LINE = 2

Seconds = FloatArray | IntArray
"""Epoch seconds or durations: whole (int64) from converters, possibly fractional from a file."""


class OnMissing(StrEnum):
    """What to do with a job whose zone or window has no intensity data."""

    ERROR = "error"
    SKIP = "skip"


@dataclass(frozen=True)
class JobTrace:
    """``n`` jobs as parallel columns; ``None`` means the column is absent from the trace.

    A trace in the CSV contract's terms (zone names, optional columns), not the engine's
    ``JobTable`` (``policy/jobs.py``): ``to_policy_jobs`` or ``check_against_intensity`` bind it
    to a grid's zones.

    ``deadline_s`` is the latest *finish* (epoch seconds), the contract's ``deadline``. A job
    without a deadline column gets whatever default the simulator applies. ``allowed_zones``
    holds the contract's ``;``-separated text per job. ``lines`` are the file lines of a trace
    read by ``read_job_trace``, so later checks can name the line of a defect.
    """

    job_id: Sequence[str]
    submit_s: Seconds
    duration_s: Seconds
    cpus: FloatArray
    memory_gib: FloatArray | None = None
    deadline_s: Seconds | None = None
    zone: Sequence[str] | None = None
    allowed_zones: Sequence[str] | None = None
    interruptible: BoolArray | None = None
    kind: Sequence[str] | None = None
    lines: IntArray | None = None

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
            "lines",
        ):
            column = getattr(self, name)
            if column is not None and len(column) != n:
                raise ValueError(f"JobTrace: column {name} has {len(column)} rows, expected {n}")
        if n and int(np.min(self.duration_s)) <= 0:
            raise ValueError("JobTrace: every duration_s must be positive")
        if n and float(np.min(self.cpus)) <= 0:
            raise ValueError("JobTrace: every cpus must be positive")
        if self.deadline_s is not None and n and np.any(self.deadline_s < self.submit_s):
            raise ValueError("JobTrace: a deadline is before its submit time")

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
            lines=None if self.lines is None else self.lines[rows],
        )

    def sorted_by_submit(self) -> JobTrace:
        """Stable sort by submit time, so equal submits keep the source order."""
        return self.take(np.argsort(self.submit_s, kind="stable").astype(np.int64))

    def cpu_hours(self) -> float:
        """Requested vCPU-hours of the whole trace: a size check that survives unit mistakes."""
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


def read_job_trace(
    path: Path,
    *,
    default_zone: Zone | None = None,
    default_max_delay: timedelta = timedelta(0),
) -> JobTrace:
    """Parse and validate ``path`` (``.csv`` or ``.csv.gz``); see the module docstring.

    Every column of the result is present: the defaults above fill what the file leaves out.
    """
    text = read_user_text(path)
    check_row_widths(text, path)
    try:
        frame = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as error:
        raise InputError(f"cannot read as CSV: {error}", source=path) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}; the header must start with "
            "job_id,submit_time,duration_s,cpus",
            source=path,
            line=1,
        )
    unknown = [c for c in frame.columns if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise InputError(
            f"unknown column(s) {', '.join(unknown)}; allowed: {', '.join(REQUIRED + OPTIONAL)}",
            source=path,
            line=1,
        )
    if "deadline" in frame.columns and "max_delay_s" in frame.columns:
        raise InputError(
            "give either a deadline or a max_delay_s column, not both", source=path, line=1
        )
    if frame.empty:
        raise InputError("no jobs in the file", source=path)
    rows = _Rows(frame, path)
    ids = rows.job_ids()
    submit_s = rows.instants("submit_time")
    duration_s = rows.within("duration_s", JOB_DURATION_S)
    cpus = rows.within("cpus", JOB_VCPUS)
    memory = rows.within("memory_gib", JOB_MEMORY_GIB, default=0.0)
    delay_s = default_max_delay.total_seconds()
    if "deadline" in frame.columns:
        empty = frame["deadline"].str.strip() == ""
        deadline = rows.instants("deadline", allow_empty=True)
        deadline = np.where(empty, submit_s + delay_s + duration_s, deadline)
    else:
        max_delay = rows.within("max_delay_s", JOB_DELAY_S, default=delay_s)
        deadline = submit_s + max_delay + duration_s
    rows.fail_where(
        deadline < submit_s, "deadline", "deadline is before submit_time; fix either time"
    )
    home = rows.zones("zone", default_zone)
    allowed = rows.allowed_zones(home)
    interruptible = rows.flags("interruptible")
    kinds = rows.kinds()
    return JobTrace(
        job_id=ids,
        submit_s=submit_s,
        duration_s=duration_s,
        cpus=cpus,
        memory_gib=memory,
        deadline_s=deadline,
        zone=home,
        allowed_zones=allowed,
        interruptible=interruptible,
        kind=kinds,
        lines=np.arange(len(frame), dtype=np.int64) + _FIRST_DATA_LINE,
    )


class _Rows:
    """Column parsers that raise an ``InputError`` at the first bad row."""

    def __init__(self, frame: pd.DataFrame, path: Path) -> None:
        self.frame = frame
        self.path = path
        self.ids = frame["job_id"].str.strip()

    def fail(self, row: int, field: str, message: str) -> InputError:
        return InputError(
            f"job {self.ids.iloc[row]!r}: {message}",
            source=self.path,
            line=row + _FIRST_DATA_LINE,
            field=field,
        )

    def fail_where(self, bad: np.ndarray, field: str, message: str) -> None:
        if bad.any():
            raise self.fail(int(np.flatnonzero(bad)[0]), field, message)

    def job_ids(self) -> list[str]:
        empty = (self.ids == "").to_numpy()
        if empty.any():
            row = int(np.flatnonzero(empty)[0])
            raise InputError(
                "empty job id", source=self.path, line=row + _FIRST_DATA_LINE, field="job_id"
            )
        duplicated = self.ids.duplicated().to_numpy()
        self.fail_where(duplicated, "job_id", "duplicate job id; ids must be unique")
        return self.ids.tolist()

    def instants(self, field: str, *, allow_empty: bool = False) -> np.ndarray:
        text = self.frame[field].str.strip()
        empty = (text == "").to_numpy()
        has_offset = text.str.contains(_OFFSET, regex=True).to_numpy()
        bad_offset = ~has_offset & ~(empty & allow_empty)
        if bad_offset.any():
            row = int(np.flatnonzero(bad_offset)[0])
            raise self.fail(
                row,
                field,
                "expected an RFC 3339 time with an offset such as 2022-01-01T00:00:00Z, "
                f"got {text.iloc[row]!r}",
            )
        parsed = pd.to_datetime(text.where(~empty), utc=True, errors="coerce", format="ISO8601")
        bad = (parsed.isna().to_numpy()) & ~empty
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise self.fail(
                row,
                field,
                f"expected an RFC 3339 time such as 2022-01-01T00:00:00Z, got {text.iloc[row]!r}",
            )
        seconds = parsed.to_numpy(dtype="datetime64[ns]", na_value=np.datetime64("NaT"))
        result: np.ndarray = seconds.astype("datetime64[ns]").astype(np.int64) / 1e9
        return np.where(empty, np.nan, result)

    def numbers(self, field: str, expected: str, default: float | None) -> np.ndarray:
        if field not in self.frame.columns:
            if default is None:
                raise InputError(f"missing column {field}", source=self.path, line=1)
            return np.full(len(self.frame), default, dtype=np.float64)
        text = self.frame[field].str.strip()
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        empty = (text == "").to_numpy()
        if default is not None:
            values = np.where(empty, default, values)
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise self.fail(row, field, f"expected {expected}, got {text.iloc[row]!r}")
        return values

    def within(self, field: str, limit: Limit, *, default: float | None = None) -> np.ndarray:
        expected = limit.describe()
        values = self.numbers(field, expected, default)
        low_ok = values > limit.low if limit.low_exclusive else values >= limit.low
        bad = ~low_ok | (values > limit.high)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise self.fail(row, field, f"expected {expected}, got {self.frame[field].iloc[row]!r}")
        return values

    def zones(self, field: str, default: Zone | None) -> list[Zone]:
        if field not in self.frame.columns:
            texts = pd.Series([""] * len(self.frame))
        else:
            texts = self.frame[field].str.strip()
        parsed: dict[str, Zone] = {}
        for text in texts.unique().tolist():
            row = int(np.flatnonzero((texts == text).to_numpy())[0])
            if text == "":
                if default is None:
                    raise self.fail(
                        row, field, "no zone given; add a zone column or pass --home-zone"
                    )
                parsed[text] = default
                continue
            try:
                parsed[text] = parse_zone(text)
            except InputError as error:
                raise self.fail(row, field, error.message) from None
        return [parsed[t] for t in texts.tolist()]

    def allowed_zones(self, home: list[Zone]) -> list[str]:
        """Validated and normalised ``;``-separated zone ids (``""`` where none are given)."""
        if "allowed_zones" not in self.frame.columns:
            return ["" for _ in home]
        texts = self.frame["allowed_zones"].str.strip()
        parsed: dict[str, str] = {}
        for text in texts.unique().tolist():
            row = int(np.flatnonzero((texts == text).to_numpy())[0])
            try:
                parsed[text] = ";".join(parse_zone(t) for t in text.split(";") if t.strip())
            except InputError as error:
                raise self.fail(row, "allowed_zones", error.message) from None
        return [parsed[t] for t in texts.tolist()]

    def flags(self, field: str) -> np.ndarray:
        if field not in self.frame.columns:
            return np.zeros(len(self.frame), dtype=np.bool_)
        text = self.frame[field].str.strip().str.lower()
        known = text.isin(_TRUE | _FALSE).to_numpy()
        if not known.all():
            row = int(np.flatnonzero(~known)[0])
            raise self.fail(
                row, field, f"expected true or false, got {self.frame[field].iloc[row]!r}"
            )
        return text.isin(_TRUE).to_numpy()

    def kinds(self) -> list[str]:
        if "kind" not in self.frame.columns:
            return [WorkloadKind.JOB.value] * len(self.frame)
        text = self.frame["kind"].str.strip().str.lower().replace("", WorkloadKind.JOB.value)
        valid = {k.value for k in WorkloadKind}
        known = text.isin(valid).to_numpy()
        if not known.all():
            row = int(np.flatnonzero(~known)[0])
            raise self.fail(
                row,
                "kind",
                f"expected one of {', '.join(sorted(valid))}, got {self.frame['kind'].iloc[row]!r}",
            )
        return [WorkloadKind(k).value for k in text.tolist()]


@dataclass(frozen=True, slots=True)
class CheckedJobs:
    """Jobs ready for the policies, and the ids skipped for missing intensity data."""

    jobs: JobTable
    skipped_ids: list[str]


def check_against_intensity(
    trace: JobTrace, grid: StepGrid, on_missing: OnMissing, *, source: str
) -> CheckedJobs:
    """Map zones to the grid and check coverage of ``[submit, max(deadline, submit+duration))``.

    ``trace`` comes from ``read_job_trace`` (every column present); ``source`` names its file.
    With ``OnMissing.ERROR`` the first offending job raises an ``InputError``; with ``SKIP`` it
    is left out and listed in ``skipped_ids``.
    """
    index = {zone: i for i, zone in enumerate(grid.zones)}
    n = len(trace)
    zone_names = list(trace.zone) if trace.zone is not None else [""] * n
    allowed_texts = list(trace.allowed_zones) if trace.allowed_zones is not None else [""] * n
    deadline_s = trace.submit_s + trace.duration_s if trace.deadline_s is None else trace.deadline_s
    lines = (
        trace.lines if trace.lines is not None else np.arange(n, dtype=np.int64) + _FIRST_DATA_LINE
    )
    home = np.array([index.get(Zone(z), -1) for z in zone_names], dtype=np.int64)
    allowed = np.zeros((n, len(grid.zones)), dtype=np.bool_)
    unknown_zone: list[tuple[int, str, str]] = []
    for text in set(allowed_texts):
        rows = np.flatnonzero(np.array([t == text for t in allowed_texts], dtype=np.bool_))
        for zone in filter(None, text.split(";")):
            if Zone(zone) in index:
                allowed[rows, index[Zone(zone)]] = True
            else:
                unknown_zone.extend((int(row), "allowed_zones", zone) for row in rows)
    for row in np.flatnonzero(home < 0).tolist():
        unknown_zone.append((row, "zone", zone_names[row]))
    end_s = np.maximum(deadline_s, trace.submit_s + trace.duration_s)
    early = trace.submit_s < grid.origin_s
    late = end_s > grid.end_s
    drop = early | late
    for row, _, _ in unknown_zone:
        drop[row] = True
    if on_missing is OnMissing.ERROR and drop.any():
        problems: list[tuple[int, str, str]] = [
            (
                row,
                field,
                f"zone {zone} is not in the intensity data (zones: "
                f"{', '.join(grid.zones)}); add its data or use --on-missing skip",
            )
            for row, field, zone in unknown_zone
        ]
        span = f"[{_whole_second_rfc3339(grid.origin_s)}, {_whole_second_rfc3339(grid.end_s)})"
        problems += [
            (
                int(r),
                "submit_time",
                f"starts before the intensity data {span}; "
                "extend the data or use --on-missing skip",
            )
            for r in np.flatnonzero(early)[:1]
        ]
        problems += [
            (
                int(r),
                "deadline",
                f"window ends after the intensity data {span}; "
                "extend the data or use --on-missing skip",
            )
            for r in np.flatnonzero(late & ~early)[:1]
        ]
        row, field, message = min(problems)
        raise InputError(
            f"job {trace.job_id[row]!r}: {message}",
            source=source,
            line=int(lines[row]),
            field=field,
        )
    keep = np.flatnonzero(~drop)
    home_keep = home[keep]
    allowed_keep = allowed[keep]
    allowed_keep[np.arange(keep.size), home_keep] = True
    jobs = JobTable(
        job_ids=[trace.job_id[i] for i in keep.tolist()],
        zones=grid.zones,
        submit_s=trace.submit_s[keep].astype(np.float64),
        duration_s=trace.duration_s[keep].astype(np.float64),
        deadline_s=deadline_s[keep].astype(np.float64),
        cpus=trace.cpus[keep],
        memory_gib=np.zeros(keep.size) if trace.memory_gib is None else trace.memory_gib[keep],
        home_zone=home_keep,
        allowed=allowed_keep,
        interruptible=(
            np.zeros(keep.size, dtype=np.bool_)
            if trace.interruptible is None
            else trace.interruptible[keep]
        ),
    )
    return CheckedJobs(jobs, [trace.job_id[i] for i in np.flatnonzero(drop).tolist()])


def _whole_second_rfc3339(epoch_s: float) -> str:
    return format_rfc3339(datetime.fromtimestamp(int(epoch_s), UTC))
