"""Read carbon-intensity files: the long CSV/Parquet contract and Electricity Maps' CSV export.

Formats, detected from the header:

* long: ``timestamp,zone,g_per_kwh`` with RFC 3339 timestamps carrying an offset (``Z``);
* Electricity Maps export: ``Datetime (UTC),...,Zone Id,Carbon Intensity gCO₂eq/kWh (direct),
  Carbon Intensity gCO₂eq/kWh (LCA),...``; the header itself declares UTC;
* single zone: ``<time column>,<intensity column>`` (e.g. Let's Wait Awhile's ``Time,Carbon
  Intensity``), which needs ``zone=`` and ``assume_utc=True`` because it carries neither.

Every defect names the file, the line and the field. Gaps are an error unless the caller picks a
``GapFill``: a silently filled gap would invent carbon data.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd

from carbon_kube.domain.errors import InputError
from carbon_kube.domain.instants import format_rfc3339
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.limits import INTENSITY_G_PER_KWH
from carbon_kube.domain.zones import Zone, parse_zone
from carbon_kube.storage.atomic import write_atomically
from carbon_kube.storage.reading import check_row_widths, read_user_bytes, read_user_text

_LONG_COLUMNS = ("timestamp", "zone", "g_per_kwh")
_EM_TIME = "Datetime (UTC)"
_EM_ZONE = "Zone Id"
_EM_DIRECT = "Carbon Intensity gCO₂eq/kWh (direct)"
_EM_LCA = "Carbon Intensity gCO₂eq/kWh (LCA)"
_HEADER_LINES = 1


class EmissionBasis(StrEnum):
    """Life-cycle (LCA: includes plant construction, fuel supply) or direct (stack) emissions."""

    LIFECYCLE = "lifecycle"
    DIRECT = "direct"


class GapFill(StrEnum):
    """What to do with missing intervals: refuse, hold the last value, or interpolate."""

    ERROR = "error"
    HOLD = "hold"
    INTERPOLATE = "interpolate"


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How to read a file; the defaults refuse anything that would need a guess."""

    basis: EmissionBasis = EmissionBasis.LIFECYCLE
    gap_fill: GapFill = GapFill.ERROR
    zone: Zone | None = None
    assume_utc: bool = False


@dataclass(frozen=True, slots=True)
class IntensityTable:
    """The series of a file and the column they were read from (users ask which: LCA or not)."""

    series: dict[Zone, IntensitySeries]
    column: str


def read_intensity_file(
    path: Path, options: ReadOptions | None = None
) -> dict[Zone, IntensitySeries]:
    """All zones' series in ``path`` (``.csv``, ``.csv.gz`` or ``.parquet``)."""
    return read_intensity_table(path, options).series


def read_intensity_table(path: Path, options: ReadOptions | None = None) -> IntensityTable:
    """``read_intensity_file`` and the name of the intensity column it used."""
    options = options or ReadOptions()
    if not path.exists():
        raise InputError("file not found", source=path)
    frame = _load_table(path)
    columns = list(frame.columns)
    if all(c in columns for c in _LONG_COLUMNS):
        time_col, zone_col, value_col, naive_is_utc = "timestamp", "zone", "g_per_kwh", False
    elif _EM_TIME in columns and _EM_ZONE in columns:
        value_col = _EM_LCA if options.basis is EmissionBasis.LIFECYCLE else _EM_DIRECT
        if value_col not in columns:
            raise InputError(f"Electricity Maps export without column {value_col!r}", source=path)
        time_col, zone_col, naive_is_utc = _EM_TIME, _EM_ZONE, True
    elif len(columns) == 2 and options.zone is not None:
        time_col, value_col = columns
        zone_col, naive_is_utc = None, options.assume_utc
    else:
        raise InputError(
            "unrecognised header "
            f"{columns!r}; expected 'timestamp,zone,g_per_kwh', an Electricity Maps CSV export, "
            "or two columns 'time,intensity' together with --zone",
            source=path,
            line=1,
        )
    timestamps = _parse_timestamps(
        frame[time_col], path, time_col, naive_is_utc, two_columns=zone_col is None
    )
    values = _parse_values(frame[value_col], path, value_col)
    if zone_col is None:
        zones = pd.Series([str(options.zone)] * len(frame), index=frame.index)
    else:
        zones = _parse_zones(frame[zone_col], path)
    table = pd.DataFrame({"t": timestamps, "zone": zones, "v": values, "line": frame.index + 2})
    result: dict[Zone, IntensitySeries] = {}
    for zone_name, rows in table.groupby("zone", sort=True):
        zone = Zone(str(zone_name))
        result[zone] = _to_series(zone, rows.sort_values("t"), path, options.gap_fill)
    if not result:
        raise InputError("no rows of intensity data", source=path)
    return IntensityTable(result, value_col)


def _load_table(path: Path) -> pd.DataFrame:
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            frame = pd.read_parquet(io.BytesIO(read_user_bytes(path))).astype(str)
        else:
            text = read_user_text(path)
            check_row_widths(text, path)
            frame = pd.read_csv(
                io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True
            )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, ValueError) as error:
        raise InputError(f"cannot read as a table: {error}", source=path) from None
    frame.index = pd.RangeIndex(len(frame))
    return frame


def _first_bad(mask: pd.Series) -> int:
    return int(np.flatnonzero(mask.to_numpy())[0])


_OFFSET_AT_END = r"(?:[zZ]|[+-]\d\d:?\d\d)\s*$"


def _parse_timestamps(
    column: pd.Series, path: Path, field: str, naive_is_utc: bool, *, two_columns: bool
) -> pd.Series:
    naive = ~column.str.contains(_OFFSET_AT_END, regex=True)
    if naive.any() and not naive_is_utc:
        # Offset-less times are only acceptable where the format itself declares UTC. Only a
        # two-column file can be read as UTC on request (the commands that read one, with
        # a --zone, have --assume-utc); for the other formats that advice would not help.
        row = _first_bad(naive)
        text = column.iloc[row]
        advice = ", or pass --assume-utc if these times are UTC" if two_columns else ""
        raise InputError(
            f"timestamp {text!r} has no UTC offset; write it as {text}Z (or +00:00){advice}",
            source=path,
            line=row + 1 + _HEADER_LINES,
            field=field,
        )
    if naive.any() and not naive.all():
        row = _first_bad(~naive)
        raise InputError(
            "mixes times with and without a UTC offset",
            source=path,
            line=row + 1 + _HEADER_LINES,
            field=field,
        )
    parsed = pd.to_datetime(column, errors="coerce", utc=True, format="mixed")
    bad = parsed.isna()
    if bad.any():
        row = _first_bad(bad)
        raise InputError(
            "expected an RFC 3339 timestamp such as 2022-01-01T00:00:00Z, "
            f"got {column.iloc[row]!r}",
            source=path,
            line=row + 1 + _HEADER_LINES,
            field=field,
        )
    return parsed


def _parse_values(column: pd.Series, path: Path, field: str) -> pd.Series:
    numbers = pd.to_numeric(column, errors="coerce")
    bad = numbers.isna() | ~np.isfinite(numbers) | (numbers < 0)
    bad |= numbers > INTENSITY_G_PER_KWH.high
    if bad.any():
        row = _first_bad(bad)
        raise InputError(
            f"expected an intensity, {INTENSITY_G_PER_KWH.describe()}, got {column.iloc[row]!r}",
            source=path,
            line=row + 1 + _HEADER_LINES,
            field=field,
        )
    return numbers.astype(np.float64)


def _parse_zones(column: pd.Series, path: Path) -> pd.Series:
    stripped = column.str.strip()
    for text in stripped.unique():
        try:
            parse_zone(str(text))
        except InputError as error:
            row = _first_bad(stripped == text)
            raise InputError(
                error.message, source=path, line=row + 1 + _HEADER_LINES, field="zone"
            ) from None
    return stripped


def _to_series(zone: Zone, rows: pd.DataFrame, path: Path, gap_fill: GapFill) -> IntensitySeries:
    times = pd.DatetimeIndex(rows["t"])
    lines = rows["line"].to_numpy()
    if len(times) == 1:
        raise InputError(
            f"zone {zone} has a single row; at least two are needed to know the time step",
            source=path,
            line=int(lines[0]),
        )
    deltas = np.diff(times.as_unit("s").asi8)
    duplicate = np.flatnonzero(deltas == 0)
    if duplicate.size:
        raise InputError(
            f"zone {zone}: duplicate timestamp {times[duplicate[0]].isoformat()}",
            source=path,
            line=int(lines[duplicate[0] + 1]),
            field="timestamp",
        )
    step_s = int(np.min(deltas))
    irregular = np.flatnonzero(deltas % step_s != 0)
    if irregular.size:
        raise InputError(
            f"zone {zone}: timestamps are not on a {step_s} s grid",
            source=path,
            line=int(lines[irregular[0] + 1]),
            field="timestamp",
        )
    gaps = np.flatnonzero(deltas != step_s)
    values = rows["v"].to_numpy(dtype=np.float64)
    if gaps.size:
        if gap_fill is GapFill.ERROR:
            before = times[gaps[0]]
            after = times[gaps[0] + 1]
            raise InputError(
                f"zone {zone}: gap in the series between {before.isoformat()} and "
                f"{after.isoformat()}; choose --fill-gaps hold|interpolate to fill it",
                source=path,
                line=int(lines[gaps[0] + 1]),
                field="timestamp",
            )
        full = pd.date_range(times[0], times[-1], freq=pd.Timedelta(seconds=step_s))
        filled = pd.Series(values, index=times).reindex(full)
        filled = filled.ffill() if gap_fill is GapFill.HOLD else filled.interpolate("time")
        values = filled.to_numpy(dtype=np.float64)
    return IntensitySeries(
        zone=zone,
        start=times[0].to_pydatetime(),
        step=timedelta(seconds=step_s),
        values_g_per_kwh=values,
    )


def write_intensity_csv(series: list[IntensitySeries], path: Path) -> None:
    """Write the long contract atomically: a failure leaves no half-written file behind."""
    frames = [
        pd.DataFrame(
            {
                "timestamp": [format_rfc3339(t) for t in s.timestamps()],
                "zone": s.zone,
                "g_per_kwh": s.values_g_per_kwh,
            }
        )
        for s in series
    ]
    table = pd.concat(frames)
    write_atomically(path, lambda temp: table.to_csv(temp, index=False, float_format="%.3f"))
