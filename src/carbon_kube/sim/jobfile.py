"""Read the job trace CSV contract (DESIGN.md section 4) into a ``JobTable``.

``job_id,submit_time,duration_s,cpus[,memory_gib][,deadline|max_delay_s][,zone][,allowed_zones]
[,interruptible][,kind]``; times RFC 3339 with an offset (``Z``), ``allowed_zones`` separated by
``;``. Parsing is vectorised (pandas) so a million rows take seconds, and every defect names the
file, the line, the job id and the field, and says how to fix it.

Edges: without ``deadline`` or ``max_delay_s`` (column absent or cell empty) a job may be delayed
by ``default_max_delay`` (0 by default: no flexibility); ``max_delay_s`` is the delay allowed to
the *start*, so the deadline is ``submit + max_delay + duration``. A deadline before the submit
time is an error; a deadline too early for the duration is kept and reported as infeasible. A
row without a zone uses ``default_zone``. Zones absent from the intensity data and windows the
data do not cover are checked by ``check_against_intensity`` (error, or skip the job).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd

from carbon_kube.domain.arrays import IntArray
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.instants import format_rfc3339
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.domain.zones import Zone, parse_zone
from carbon_kube.policy.grids import StepGrid
from carbon_kube.policy.jobs import JobTable

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


class OnMissing(StrEnum):
    """What to do with a job whose zone or window has no intensity data."""

    ERROR = "error"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class JobFile:
    """Parsed rows: zone names (not yet indices), and the file lines for later errors."""

    source: str
    job_ids: list[str]
    lines: IntArray
    submit_s: np.ndarray
    duration_s: np.ndarray
    deadline_s: np.ndarray
    cpus: np.ndarray
    memory_gib: np.ndarray
    home_zone: list[Zone]
    allowed_zones: list[tuple[Zone, ...]]
    interruptible: np.ndarray
    kinds: list[WorkloadKind]

    def __len__(self) -> int:
        return len(self.job_ids)


def parse_jobs_csv(
    path: Path,
    *,
    default_zone: Zone | None = None,
    default_max_delay: timedelta = timedelta(0),
) -> JobFile:
    """Parse and validate ``path`` (``.csv`` or ``.csv.gz``); see the module docstring."""
    if not path.exists():
        raise InputError("file not found", source=path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read as CSV: {error}", source=path) from error
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
    duration_s = rows.positive("duration_s", "a duration in seconds > 0")
    cpus = rows.positive("cpus", "a number of vCPUs > 0")
    memory = rows.non_negative("memory_gib", "memory in GiB >= 0", default=0.0)
    delay_s = default_max_delay.total_seconds()
    if "deadline" in frame.columns:
        empty = frame["deadline"].str.strip() == ""
        deadline = rows.instants("deadline", allow_empty=True)
        deadline = np.where(empty, submit_s + delay_s + duration_s, deadline)
    else:
        max_delay = rows.non_negative("max_delay_s", "a delay in seconds >= 0", default=delay_s)
        deadline = submit_s + max_delay + duration_s
    rows.fail_where(
        deadline < submit_s, "deadline", "deadline is before submit_time; fix either time"
    )
    home = rows.zones("zone", default_zone)
    allowed = rows.allowed_zones(home)
    interruptible = rows.flags("interruptible")
    kinds = rows.kinds()
    return JobFile(
        source=str(path),
        job_ids=ids,
        lines=np.arange(len(frame), dtype=np.int64) + _FIRST_DATA_LINE,
        submit_s=submit_s,
        duration_s=duration_s,
        deadline_s=deadline,
        cpus=cpus,
        memory_gib=memory,
        home_zone=home,
        allowed_zones=allowed,
        interruptible=interruptible,
        kinds=kinds,
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

    def positive(self, field: str, expected: str) -> np.ndarray:
        values = self.numbers(field, expected, None)
        bad = values <= 0
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise self.fail(row, field, f"expected {expected}, got {self.frame[field].iloc[row]!r}")
        return values

    def non_negative(self, field: str, expected: str, *, default: float) -> np.ndarray:
        values = self.numbers(field, expected, default)
        bad = values < 0
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

    def allowed_zones(self, home: list[Zone]) -> list[tuple[Zone, ...]]:
        if "allowed_zones" not in self.frame.columns:
            return [() for _ in home]
        texts = self.frame["allowed_zones"].str.strip()
        parsed: dict[str, tuple[Zone, ...]] = {}
        for text in texts.unique().tolist():
            row = int(np.flatnonzero((texts == text).to_numpy())[0])
            try:
                parsed[text] = tuple(parse_zone(t) for t in text.split(";") if t.strip())
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

    def kinds(self) -> list[WorkloadKind]:
        if "kind" not in self.frame.columns:
            return [WorkloadKind.JOB] * len(self.frame)
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
        return [WorkloadKind(k) for k in text.tolist()]


@dataclass(frozen=True, slots=True)
class CheckedJobs:
    """Jobs ready for the policies, and the ids skipped for missing intensity data."""

    jobs: JobTable
    skipped_ids: list[str]


def check_against_intensity(
    job_file: JobFile, grid: StepGrid, on_missing: OnMissing
) -> CheckedJobs:
    """Map zones to the grid and check coverage of ``[submit, max(deadline, submit+duration))``.

    With ``OnMissing.ERROR`` the first offending job raises an ``InputError``; with ``SKIP`` it
    is left out and listed in ``skipped_ids``.
    """
    index = {zone: i for i, zone in enumerate(grid.zones)}
    n = len(job_file)
    home = np.array([index.get(z, -1) for z in job_file.home_zone], dtype=np.int64)
    allowed = np.zeros((n, len(grid.zones)), dtype=np.bool_)
    unknown_zone: list[tuple[int, str, Zone]] = []
    for row, zones in enumerate(job_file.allowed_zones):
        for zone in zones:
            if zone in index:
                allowed[row, index[zone]] = True
            else:
                unknown_zone.append((row, "allowed_zones", zone))
    for row in np.flatnonzero(home < 0).tolist():
        unknown_zone.append((row, "zone", job_file.home_zone[row]))
    end_s = np.maximum(job_file.deadline_s, job_file.submit_s + job_file.duration_s)
    early = job_file.submit_s < grid.origin_s
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
            f"job {job_file.job_ids[row]!r}: {message}",
            source=job_file.source,
            line=int(job_file.lines[row]),
            field=field,
        )
    keep = np.flatnonzero(~drop)
    home_keep = home[keep]
    allowed_keep = allowed[keep]
    allowed_keep[np.arange(keep.size), home_keep] = True
    jobs = JobTable(
        job_ids=[job_file.job_ids[i] for i in keep.tolist()],
        zones=grid.zones,
        submit_s=job_file.submit_s[keep],
        duration_s=job_file.duration_s[keep],
        deadline_s=job_file.deadline_s[keep],
        cpus=job_file.cpus[keep],
        memory_gib=job_file.memory_gib[keep],
        home_zone=home_keep,
        allowed=allowed_keep,
        interruptible=job_file.interruptible[keep],
    )
    return CheckedJobs(jobs, [job_file.job_ids[i] for i in np.flatnonzero(drop).tolist()])


def _whole_second_rfc3339(epoch_s: float) -> str:
    return format_rfc3339(datetime.fromtimestamp(int(epoch_s), UTC))
