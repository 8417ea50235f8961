"""Why forecasts find little of the oracle's savings in NO (hydro), and what would help.

Issue #19 found every forecast reaching about half of the oracle's savings in one hydro-heavy
zone (NO in ``bench/forecast_savings.py --data unseen``). ``temporal`` needs the ORDER of the
coming hours; a forecast built from past days can only know the part of a day's shape that
repeats. This prints, per zone, from Electricity Maps' 2022 life-cycle intensity in
../shared/data:

* within-day swing: std of each hour's deviation from its day's mean, over the year's mean;
* diurnal share: the fraction of that within-day variance explained by the mean hour-of-day
  profile (what seasonal-naive and the learned model's calendar features can reproduce);
* lag-24 autocorrelation of the within-day deviations (does today's shape repeat tomorrow);
* for NO, the correlation of its within-day deviations with its neighbours' on the same hour
  (NO's flow-traced intensity moves with what it imports).

    .venv/bin/python bench/hydro_zone.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("CARBON_KUBE_SHARED_DATA", ROOT.parent / "shared" / "data"))
ZONES = ("NO", "SE-SE3", "FI", "CA-ON", "DE", "JP-TK", "AU-NSW")
NEIGHBOURS = ("SE-SE3", "FI", "DE")
LCA = "Carbon Intensity gCO₂eq/kWh (LCA)"


def hourly(data: Path, zone: str) -> pd.Series:
    frame = pd.read_csv(data / "electricitymaps-hourly" / f"{zone}_2022_hourly.csv.gz")
    index = pd.to_datetime(frame["Datetime (UTC)"], utc=True)
    return pd.Series(frame[LCA].to_numpy(dtype=float), index=index)


def within_day(series: pd.Series) -> pd.Series:
    return series - series.groupby(series.index.date).transform("mean")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    series = {zone: hourly(args.data, zone) for zone in ZONES}
    print("| zone | mean g/kWh | within-day swing | diurnal share | lag-24 autocorrelation |")
    print("|---|---:|---:|---:|---:|")
    for zone, values in series.items():
        deviation = within_day(values)
        profile = deviation.groupby(deviation.index.hour).transform("mean")
        diurnal = 1 - (deviation - profile).var() / deviation.var()
        print(
            f"| {zone} | {values.mean():.0f} | {deviation.std() / values.mean():.0%} | "
            f"{diurnal:.0%} | {deviation.autocorr(24):.2f} |"
        )
    norway = within_day(series["NO"])
    for zone in NEIGHBOURS:
        joined = pd.concat([norway, within_day(series[zone])], axis=1).dropna()
        print(f"NO vs {zone}: within-day correlation {joined.corr().iloc[0, 1]:+.2f}")


if __name__ == "__main__":
    main()
