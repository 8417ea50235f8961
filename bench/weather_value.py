"""What observed weather adds to the learned model: day-ahead MAPE with and without it.

The poller gives LightGBM each zone's weather known at the origin (Open-Meteo, observed up to
then; ``providers/recent_weather.py``). This measures whether that is worth fetching: the same
2022 backtest as ``bench/forecast_backtest.py`` part 2 (Electricity Maps life-cycle intensity,
2021 as history where it exists, daily origins at 00:00 UTC, 24 h ahead, retrained every 56
days), once with the Open-Meteo reanalysis of ../shared/data (masked to what was known at each
origin) and once without, for every zone that has offline weather and a 2022 file.

    .venv/bin/python bench/weather_value.py [--data ../shared/data] [--zones DE,GB]

Prints one row per zone and, last, the share of zones where weather lowered the MAPE by 0.5 %
or more and the median change. Six zones took 23 min on 2 busy cores.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from carbon_kube.domain.zones import Zone
from carbon_kube.forecasting.backtesting import run_backtest
from carbon_kube.forecasting.boosting import BoostingConfig
from carbon_kube.forecasting.registry import build_models
from carbon_kube.providers.series_files import read_history
from carbon_kube.providers.weather_openmeteo import read_openmeteo_folder

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("CARBON_KUBE_SHARED_DATA", ROOT.parent / "shared" / "data"))
# Zones with offline weather (a point in providers/weather_points.py) and 2021 + 2022 files.
ZONES = ("DE", "GB", "US-CAL-CISO", "US-MIDA-PJM", "JP-TK", "US-NY-NYIS")
HORIZON = timedelta(hours=24)
YEAR_START, YEAR_END = datetime(2022, 1, 1, tzinfo=UTC), datetime(2023, 1, 1, tzinfo=UTC)


def zone_mapes(data: Path, zone: str, config: BoostingConfig) -> tuple[float, float, float]:
    """LightGBM's day-ahead MAPE over 2022 without and with weather, and the seconds taken."""
    folder = data / "electricitymaps-hourly"
    files = [folder / f"{zone}_{year}_hourly.csv.gz" for year in (2021, 2022)]
    series = read_history([f for f in files if f.exists()], Zone(zone))
    weather = read_openmeteo_folder(data / "openmeteo-weather-hourly", Zone(zone))
    began = time.perf_counter()
    scores = []
    for covariates in (None, weather):
        models = build_models(["lightgbm"], horizon=HORIZON, boosting=config)
        earliest = series.start + models[0].required_history(HORIZON)
        midnight = earliest.replace(hour=0, minute=0, second=0, microsecond=0)
        start = max(YEAR_START, midnight if midnight == earliest else midnight + timedelta(days=1))
        result = run_backtest(
            series, models, start=start, end=YEAR_END, horizon=HORIZON, weather=covariates
        )
        scores.append(result.score("lightgbm").mape_pct)
    return scores[0], scores[1], time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--zones", default=",".join(ZONES), help="comma-separated zone ids")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    config = replace(BoostingConfig(), retrain_every=timedelta(days=56))
    zones = [z.strip() for z in args.zones.split(",") if z.strip()]
    print("| zone | lightgbm MAPE without weather % | with weather % | change |")
    print("|---|---:|---:|---:|")
    changes = []
    for zone in zones:
        without, with_weather, seconds = zone_mapes(args.data, zone, config)
        change = (with_weather - without) / without
        changes.append(change)
        print(f"| {zone} | {without:.2f} | {with_weather:.2f} | {change:+.1%} |", flush=True)
        print(f"  ({seconds:.0f} s)", file=sys.stderr, flush=True)
    # A change under half a percent is noise at this sample size, not a gain.
    lower = sum(1 for c in changes if c <= -0.005)
    print(
        f"weather lowers day-ahead MAPE by 0.5 % or more in {lower} of {len(changes)} zones, "
        f"median change {statistics.median(changes):+.1%}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
