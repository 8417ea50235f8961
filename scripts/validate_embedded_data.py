"""Compare the embedded intensity with independent series in ../shared/data; print the figures.

References (read in place, never copied into the project):

* ``lets-wait-awhile-2020``: DE, GB, FR for 2020 at 15/30 min (Wiesner et al., Middleware '21),
  from the same ENTSO-E platform but their own factors (IPCC 2011 SRREN) and, for GB and FR, with
  imports. Read as single-zone files in UTC; GB switches from 30 to 15 min in November, so
  the reader holds each 30-min value over its two 15-min slots (exact for piecewise-constant data)
  before the hourly means are taken.
* ``electricitymaps-hourly``: Electricity Maps' hourly LCA intensity (flow-traced, consumption
  based), 2021-2024. Where a zone-year overlaps the embedded year it is compared hour by hour;
  the shipped data (2020) overlaps none, so for zones in both, the script also reports the
  correlation of the mean month x hour-of-day profile (288 points) and the annual means of
  different years: a plausibility check of shape and level, not a validation of hourly values.

Run: ``.venv/bin/python scripts/validate_embedded_data.py [--shared-data PATH]``; it prints
Markdown tables (pasted into docs/data.md).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.embedded import embedded_year, load_embedded_series
from carbon_kube.providers.files import GapFill, ReadOptions, read_intensity_file

DEFAULT_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
LETS_WAIT_AWHILE_FILES = {"DE": "ger_ci.csv.gz", "GB": "gb_ci.csv.gz", "FR": "fr_ci.csv.gz"}


@dataclass(frozen=True)
class Comparison:
    """Hour-by-hour agreement of the embedded series with a reference over their overlap."""

    zone: str
    reference: str
    hours: int
    pearson_r: float
    mean_difference_g_per_kwh: float  # embedded minus reference
    embedded_mean_g_per_kwh: float
    reference_mean_g_per_kwh: float


def to_hourly(series: IntensitySeries) -> pd.Series:
    """Hourly means of a finer series (piecewise constant, so the mean is exact)."""
    values = pd.Series(series.values_g_per_kwh, index=pd.DatetimeIndex(series.timestamps()))
    return values.resample("1h").mean().dropna()


def compare(embedded: IntensitySeries, reference: IntensitySeries, name: str) -> Comparison:
    """Pearson r and mean difference over the hours both series cover."""
    both = pd.concat([to_hourly(embedded), to_hourly(reference)], axis=1, join="inner").dropna()
    if len(both) < 2:
        raise ValueError(f"{embedded.zone}: no overlapping hours with {name}")
    mine, theirs = both.iloc[:, 0].to_numpy(), both.iloc[:, 1].to_numpy()
    return Comparison(
        zone=str(embedded.zone),
        reference=name,
        hours=len(both),
        pearson_r=float(np.corrcoef(mine, theirs)[0, 1]),
        mean_difference_g_per_kwh=float(np.mean(mine - theirs)),
        embedded_mean_g_per_kwh=float(np.mean(mine)),
        reference_mean_g_per_kwh=float(np.mean(theirs)),
    )


def read_lets_wait_awhile(shared: Path, zone: str) -> IntensitySeries:
    path = shared / "lets-wait-awhile-2020" / LETS_WAIT_AWHILE_FILES[zone]
    options = ReadOptions(zone=Zone(zone), assume_utc=True, gap_fill=GapFill.HOLD)
    return read_intensity_file(path, options)[Zone(zone)]


def electricitymaps_files(shared: Path, zones: list[Zone]) -> dict[tuple[str, int], Path]:
    """Primary Electricity Maps files of ``zones``, keyed by (zone, year)."""
    found: dict[tuple[str, int], Path] = {}
    for path in sorted((shared / "electricitymaps-hourly").glob("*_hourly.csv.gz")):
        zone, year, _ = path.name.rsplit("_", 2)
        if zone in zones:
            found[(zone, int(year))] = path
    return found


def profile_correlation(embedded: IntensitySeries, reference: IntensitySeries) -> float:
    """Correlation of mean month x hour-of-day profiles (288 points) of two different years."""

    def profile(series: IntensitySeries) -> pd.Series:
        hourly = to_hourly(series)
        index = pd.DatetimeIndex(hourly.index)
        return hourly.groupby([index.month, index.hour]).mean()

    both = pd.concat([profile(embedded), profile(reference)], axis=1, join="inner")
    return float(np.corrcoef(both.iloc[:, 0], both.iloc[:, 1])[0, 1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared-data", type=Path, default=DEFAULT_SHARED)
    args = parser.parse_args(argv)
    shared: Path = args.shared_data
    if not shared.is_dir():
        print(f"error: {shared} not found; pass --shared-data", file=sys.stderr)
        return 2
    embedded = load_embedded_series()
    year = embedded_year()
    print(f"## Hour by hour, overlapping year ({year})\n")
    print("| zone | reference | hours | Pearson r | mean diff g/kWh | embedded mean | ref mean |")
    print("|---|---|---:|---:|---:|---:|---:|")
    rows = [
        compare(embedded[Zone(z)], read_lets_wait_awhile(shared, z), "Let's Wait Awhile 2020")
        for z in LETS_WAIT_AWHILE_FILES
    ]
    em_files = electricitymaps_files(shared, sorted(embedded))
    rows += [
        compare(
            embedded[Zone(z)],
            read_intensity_file(path)[Zone(z)],
            f"Electricity Maps {y} (LCA)",
        )
        for (z, y), path in em_files.items()
        if y == year
    ]
    for c in rows:
        print(
            f"| {c.zone} | {c.reference} | {c.hours} | {c.pearson_r:.3f} "
            f"| {c.mean_difference_g_per_kwh:+.1f} | {c.embedded_mean_g_per_kwh:.1f} "
            f"| {c.reference_mean_g_per_kwh:.1f} |"
        )
    if not any(y == year for _, y in em_files):
        years = sorted({y for _, y in em_files})
        print(f"\nElectricity Maps: no zone-year overlaps {year} (files cover {years}).")
    print(f"\n## Different years: embedded {year} vs Electricity Maps (shape and level only)\n")
    print("| zone | EM year | month x hour profile r | embedded mean | EM mean (LCA) |")
    print("|---|---:|---:|---:|---:|")
    for (z, y), path in em_files.items():
        if y == year:
            continue
        reference = read_intensity_file(path)[Zone(z)]
        print(
            f"| {z} | {y} | {profile_correlation(embedded[Zone(z)], reference):.3f} "
            f"| {embedded[Zone(z)].mean_g_per_kwh():.1f} | {reference.mean_g_per_kwh():.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
