"""What forecasts buy: savings of ``temporal`` per forecast, as a fraction of ``oracle``'s.

Issue "Forecasting", item 5 (goal: >= 90 % of oracle savings per zone). Two data sets:

* ``--data embedded`` (default): the ``carbon-kube simulate`` no-argument data (ENTSO-E 2020
  for eight zones, PAI-fitted jobs, seed 2020); no weather, no provider forecasts.
* ``--data unseen``: Electricity Maps zones never used to tune the model (the multi-year ones of
  ``bench/forecast_backtest.py``'s part 3: the same leave-zones-out split), PAI-fitted jobs
  submitted in 2022 with 2021 as history, Open-Meteo reanalysis up to each decision where the
  zone has offline weather; no provider forecasts.
* ``--data dacf``: the five DACF regions (CISO, PJM, ERCO, ISNE, SE; true intensity 2020-2021
  from ../shared/data/dacf-carbon-forecasts-2020-2021), PAI-fitted jobs submitted Jul-Dec 2021
  (DACF's test period), with DACF's own day-ahead forecasts (``provider``) and the GFS
  day-ahead weather the learned model uses (``lightgbm`` then also blends DACF's forecast).

Both write docs/forecasting_simulation.md, each only its own section (between the markers
``<!-- bench/forecast_savings.py --data X: begin -->`` and ``...: end -->``), with the
report's headings one level down.

Policy ``temporal`` runs once per forecast, in one process; "+ re-plan 1 h" rows re-plan held
jobs every hour on a fresh forecast, as the controller does (``sim.replanning``). Per home
zone and overall: savings against carbon-agnostic (1 - temporal CO2 / agnostic CO2 of the jobs
homed there), the fraction of the oracle's savings, deadline misses and wall time. The same
figures are given for the jobs submitted after the learned model's warm-up (before it,
``lightgbm`` decisions fall back to persistence), so the model is judged where it decides.

Usage: ``.venv/bin/python bench/forecast_savings.py [--data embedded|dacf] [--jobs 2000]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from carbon_kube.domain.arrays import BoolArray, FloatArray
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.weather import WeatherSeries
from carbon_kube.domain.zones import Zone
from carbon_kube.energy.power import default_power_model
from carbon_kube.forecasting.boosting import GradientBoostingForecaster
from carbon_kube.policy.forecasts import Forecast
from carbon_kube.policy.grids import IntensityGrid
from carbon_kube.policy.jobs import JobTable
from carbon_kube.providers.dacf import read_dacf_forecast, read_dacf_intensity, read_dacf_weather
from carbon_kube.providers.embedded import load_embedded_series
from carbon_kube.providers.series_files import read_history
from carbon_kube.providers.weather_openmeteo import read_openmeteo_folder
from carbon_kube.sim.defaults import DEFAULT_SEED, DEFAULT_ZONES, default_workloads
from carbon_kube.sim.engine import SimulationResult, SimulationSettings, simulate
from carbon_kube.sim.model_forecasts import (
    DEFAULT_HORIZON,
    SIM_MEDIAN_CONFIG,
    ForecastInputs,
    build_forecast,
)

GOAL_FRACTION = 0.90
POLICY = "temporal"
REPLAN = timedelta(hours=1)
# (label, --forecast, --forecast-quantile, re-plan held jobs hourly)
RunSpec = tuple[str, str, float, bool]
EMBEDDED_RUNS: tuple[RunSpec, ...] = (
    ("oracle (upper bound)", "oracle", 0.5, False),
    ("persistence", "persistence", 0.5, False),
    ("persistence + re-plan 1 h", "persistence", 0.5, True),
    ("seasonal-naive (p50)", "seasonal-naive", 0.5, False),
    ("seasonal-naive (p90, risk-averse)", "seasonal-naive", 0.9, False),
    ("seasonal-naive + re-plan 1 h", "seasonal-naive", 0.5, True),
    ("lightgbm (p50)", "lightgbm", 0.5, False),
    ("lightgbm + re-plan 1 h", "lightgbm", 0.5, True),
)
DACF_RUNS: tuple[RunSpec, ...] = (
    ("oracle (upper bound)", "oracle", 0.5, False),
    ("persistence", "persistence", 0.5, False),
    ("seasonal-naive (p50)", "seasonal-naive", 0.5, False),
    ("provider (DACF day-ahead)", "provider", 0.5, False),
    ("provider + re-plan 1 h", "provider", 0.5, True),
    ("lightgbm (p50, GFS weather, DACF blend)", "lightgbm", 0.5, False),
    ("lightgbm + re-plan 1 h", "lightgbm", 0.5, True),
)
DACF_FOLDER = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "dacf-carbon-forecasts-2020-2021"
)
DACF_REGIONS = ("CISO", "PJM", "ERCO", "ISNE", "SE")
DACF_JOBS_FROM = datetime(2021, 7, 1, tzinfo=UTC)
DACF_JOBS_UNTIL = datetime(2021, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class Run:
    label: str
    forecast: str
    quantile: float
    replan: bool
    result: SimulationResult
    seconds: float
    # Per zone index, of the next 24 h believed at each decision: mean rank correlation, MAPE,
    # and the believed within-day spread (std) as a fraction of the true one.
    quality: dict[int, tuple[float, float, float]]

    def co2_g(self) -> tuple[FloatArray, FloatArray]:
        """Per job: carbon-agnostic CO2 and temporal CO2."""
        return self.result.baseline.co2_g, self.result.outcomes[POLICY].co2_g

    def missed(self) -> BoolArray:
        return self.result.outcomes[POLICY].deadline_missed


def savings(run: Run, rows: BoolArray) -> float:
    agnostic_g, temporal_g = run.co2_g()
    return 1.0 - float(temporal_g[rows].sum()) / float(agnostic_g[rows].sum())


@dataclass(frozen=True)
class DataSet:
    """Truth, jobs and model inputs of one comparison, and how the document describes it."""

    name: str
    truth: IntensityGrid
    jobs: JobTable
    inputs: ForecastInputs
    runs: tuple[RunSpec, ...]
    description: str
    horizon: timedelta = DEFAULT_HORIZON


def embedded_data(n_jobs: int, seed: int) -> DataSet:
    series = load_embedded_series()
    generated = default_workloads(series, n_jobs=n_jobs, seed=seed)
    truth = IntensityGrid({zone: series[zone] for zone in DEFAULT_ZONES})
    jobs = JobTable.from_workloads(generated.workloads, truth.grid.zones)
    description = (
        f"the embedded default ({len(jobs):,} PAI-fitted jobs, seed {seed}, ENTSO-E 2020 "
        f"intensity for {', '.join(truth.grid.zones)}; no weather, no provider forecasts)"
    )
    return DataSet("embedded", truth, jobs, ForecastInputs(), EMBEDDED_RUNS, description)


def dacf_data(n_jobs: int, seed: int, folder: Path) -> DataSet:
    truth_by_zone: dict[Zone, IntensitySeries] = {}
    provider: dict[Zone, IntensitySeries] = {}
    weather: dict[Zone, WeatherSeries] = {}
    for region in DACF_REGIONS:
        direct = folder / f"{region}_direct_emissions.csv.gz"
        ((zone, series),) = read_dacf_intensity(direct).items()
        truth_by_zone[zone] = series
        forecast_file = folder / f"{region}_carbon_from_src_prod_forecasts_direct.csv.gz"
        provider[zone] = read_dacf_forecast(forecast_file)
        weather[zone] = read_dacf_weather(direct)
    inputs = ForecastInputs(provider_forecasts=provider, weather=weather)
    window = {z: s.between(DACF_JOBS_FROM, DACF_JOBS_UNTIL) for z, s in truth_by_zone.items()}
    generated = default_workloads(window, n_jobs=n_jobs, seed=seed, zones=list(window))
    truth = IntensityGrid(truth_by_zone)
    jobs = JobTable.from_workloads(generated.workloads, truth.grid.zones)
    description = (
        f"the DACF regions ({len(jobs):,} PAI-fitted jobs submitted "
        f"{DACF_JOBS_FROM:%Y-%m-%d} .. {DACF_JOBS_UNTIL:%Y-%m-%d}, seed {seed}; true direct "
        f"intensity of {', '.join(truth.grid.zones)} from 2020-01-01, DACF's own day-ahead "
        "forecasts as `provider`, GFS day-ahead weather for `lightgbm`, which blends its median "
        "with DACF's; models forecast 24 h from each decision, the horizon DACF publishes and "
        "forecasting.md scores, beyond which the last day repeats)"
    )
    return DataSet("dacf", truth, jobs, inputs, DACF_RUNS, description, timedelta(hours=24))


# The zones of bench/forecast_backtest.py's part 3 with a 2021 file (history before 2022's jobs).
UNSEEN_ZONES = ("AU-NSW", "BR-CS", "CA-ON", "IN-WE", "JP-TK", "NO", "US-NY-NYIS")
UNSEEN_RUNS: tuple[RunSpec, ...] = (
    ("oracle (upper bound)", "oracle", 0.5, False),
    ("persistence", "persistence", 0.5, False),
    ("seasonal-naive (p50)", "seasonal-naive", 0.5, False),
    ("lightgbm (p50)", "lightgbm", 0.5, False),
    ("lightgbm + re-plan 1 h", "lightgbm", 0.5, True),
)
UNSEEN_JOBS_FROM = datetime(2022, 1, 1, tzinfo=UTC)
UNSEEN_JOBS_UNTIL = datetime(2022, 12, 31, tzinfo=UTC)


def unseen_data(n_jobs: int, seed: int, shared: Path) -> DataSet:
    folder = shared / "electricitymaps-hourly"
    truth_by_zone: dict[Zone, IntensitySeries] = {}
    weather: dict[Zone, WeatherSeries] = {}
    for name in UNSEEN_ZONES:
        zone = Zone(name)
        files = [folder / f"{name}_{year}_hourly.csv.gz" for year in (2021, 2022)]
        truth_by_zone[zone] = read_history(files, zone)
        # A zone without offline weather: the model runs on lags and calendar only.
        with contextlib.suppress(InputError):
            weather[zone] = read_openmeteo_folder(shared / "openmeteo-weather-hourly", zone)
    window = {z: s.between(UNSEEN_JOBS_FROM, UNSEEN_JOBS_UNTIL) for z, s in truth_by_zone.items()}
    generated = default_workloads(window, n_jobs=n_jobs, seed=seed, zones=list(window))
    truth = IntensityGrid(truth_by_zone)
    jobs = JobTable.from_workloads(generated.workloads, truth.grid.zones)
    description = (
        f"zones never used to tune the model ({len(jobs):,} PAI-fitted jobs submitted "
        f"{UNSEEN_JOBS_FROM:%Y-%m-%d} .. {UNSEEN_JOBS_UNTIL:%Y-%m-%d}, seed {seed}; Electricity "
        f"Maps life-cycle intensity of {', '.join(truth.grid.zones)} from 2021-01-01; Open-Meteo "
        f"reanalysis, up to each decision only, for {', '.join(weather) or 'none'}; no "
        "provider forecasts)"
    )
    return DataSet("unseen", truth, jobs, ForecastInputs(weather=weather), UNSEEN_RUNS, description)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("embedded", "dacf", "unseen"), default="embedded")
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--dacf-folder", type=Path, default=DACF_FOLDER)
    parser.add_argument("--shared-data", type=Path, default=DACF_FOLDER.parent)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--skip", nargs="*", default=[], help="forecast labels to leave out")
    args = parser.parse_args()
    docs = Path(__file__).resolve().parents[1] / "docs"
    out = args.out or docs / "forecasting_simulation.md"
    if args.data == "embedded":
        data = embedded_data(args.jobs, args.seed)
    elif args.data == "unseen":
        data = unseen_data(args.jobs, args.seed, args.shared_data)
    else:
        data = dacf_data(args.jobs, args.seed, args.dacf_folder)
    truth, jobs = data.truth, data.jobs
    warm_up = GradientBoostingForecaster(SIM_MEDIAN_CONFIG).required_history(DEFAULT_HORIZON)
    warm_up_end_s = truth.grid.origin_s + warm_up.total_seconds()

    runs: list[Run] = []
    beliefs: dict[tuple[str, float], Forecast] = {}
    for label, forecast, quantile, replan in data.runs:
        if label in args.skip:
            continue
        settings = SimulationSettings(
            (POLICY,),
            default_power_model(),
            forecast=forecast,
            forecast_quantile=quantile,
            replan_every=REPLAN if replan else None,
        )
        began = time.perf_counter()
        # One belief per forecast: the re-planning run reuses what the other already fitted,
        # so its wall time counts only the extra decisions.
        belief = beliefs.get((forecast, quantile))
        if belief is None:
            belief = build_forecast(forecast, truth, quantile, data.inputs, data.horizon)
            beliefs[(forecast, quantile)] = belief
        result = simulate(jobs, truth, settings, forecast=belief)
        seconds = time.perf_counter() - began
        quality = belief_quality(belief, truth, jobs, jobs.submit_s >= warm_up_end_s)
        runs.append(Run(label, forecast, quantile, replan, result, seconds, quality))
        print(f"{label}: {savings(runs[-1], np.ones(len(jobs), bool)):.2%} in {seconds:.1f} s")
        sys.stdout.flush()

    text = render(runs, data, warm_up_end_s, args)
    old = out.read_text(encoding="utf-8") if out.exists() else ""
    write_atomically(out, replace_section(old, data.name, text))
    print(f"wrote {out}")
    return 0


def render(runs: list[Run], data: DataSet, warm_up_end_s: float, args: argparse.Namespace) -> str:
    jobs, truth = data.jobs, data.truth
    oracle = runs[0]
    everyone = np.ones(len(jobs), dtype=bool)
    after = jobs.submit_s >= warm_up_end_s
    warm_up_days = (warm_up_end_s - truth.grid.origin_s) / 86_400
    zones = list(truth.grid.zones)
    out: list[str] = [
        "# Forecast-driven scheduling: savings as a fraction of oracle savings",
        "",
        f"Generated by `bench/forecast_savings.py --data {data.name}` (do not edit by hand): "
        f"{data.description}; policy `{POLICY}`, each job planned at its submit time with the "
        f"named forecast ({data.horizon.total_seconds() / 3600:.0f} h from the decision, data "
        "before it only), and in the '+ re-plan 1 h' rows planned again every hour while it "
        "is held, each time on a fresh forecast. One process, one thread.",
        "Savings = 1 - temporal CO2 / carbon-agnostic CO2 of the jobs; fraction = savings / "
        f"oracle savings; goal: >= {GOAL_FRACTION:.0%} of the oracle's, per zone.",
        "",
        "## Overall",
        "",
        "| forecast | savings | fraction of oracle | savings after warm-up | fraction after "
        "warm-up | deadline misses | wall time (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        out.append(
            f"| {run.label} | {savings(run, everyone):.2%} | "
            f"{fraction(run, oracle, everyone)} | {savings(run, after):.2%} | "
            f"{fraction(run, oracle, after)} | {int(run.missed().sum())} | {run.seconds:.1f} |"
        )
    out += [
        "",
        f"Warm-up: the simulator's `lightgbm` needs {warm_up_days:.0f} days of history (four "
        "weeks of training, four of lags, the horizon), so the "
        f"{int((~after).sum())} jobs submitted before then are planned with persistence; "
        f"'after warm-up' counts the other {int(after.sum())} jobs (all forecasts).",
        "",
    ]
    for title, rows in (("all jobs", everyone), ("jobs after the warm-up", after)):
        out += per_zone_table(runs, jobs, zones, rows, title)
    out += goal_lines(runs, jobs, zones, after)
    out += quality_table(runs, zones)
    out += replan_lines(runs)
    if data.name == "embedded":
        out += why_lines(runs, zones)
    else:
        out += signal_lines(runs, jobs, truth)
    return "\n".join(out) + "\n"


def belief_quality(
    belief: Forecast, truth: IntensityGrid, jobs: JobTable, rows: BoolArray
) -> dict[int, tuple[float, float, float]]:
    """How well each decision's belief ranks and sizes the next 24 hourly values, per zone.

    ``temporal`` only compares candidate starts, so the rank correlation (Spearman, per
    decision, then averaged) is what drives savings; MAPE is shown beside it for contrast.
    """
    grid = truth.grid
    hours = np.arange(24, dtype=np.float64) * 3600.0
    quality: dict[int, tuple[float, float, float]] = {}
    for index in range(len(grid.zones)):
        decided = jobs.submit_s[rows & (jobs.home_zone == index)]
        if decided.size == 0:
            continue
        step_start = grid.origin_s + grid.step_of(decided) * grid.step_s
        starts = (step_start[:, None] + hours[None, :]).ravel()
        decided_each = np.repeat(decided, hours.size)
        believed = belief.integral(index, decided_each, starts, starts + 3600.0)
        actual = truth.integral(index, starts, starts + 3600.0)
        believed, actual = believed.reshape(-1, 24), actual.reshape(-1, 24)
        quality[index] = (
            float(np.mean(_rank_correlation(believed, actual))),
            float(np.mean(np.abs(believed - actual) / actual)),
            float(np.mean(believed.std(axis=1)) / np.mean(actual.std(axis=1))),
        )
    return quality


def _rank_correlation(left: FloatArray, right: FloatArray) -> FloatArray:
    """Spearman's rho per row (ties broken by position; a constant row counts as 0)."""
    ranks_left = np.argsort(np.argsort(left, axis=1), axis=1).astype(np.float64)
    ranks_right = np.argsort(np.argsort(right, axis=1), axis=1).astype(np.float64)
    ranks_left -= ranks_left.mean(axis=1, keepdims=True)
    ranks_right -= ranks_right.mean(axis=1, keepdims=True)
    norm = np.sqrt((ranks_left**2).sum(axis=1) * (ranks_right**2).sum(axis=1))
    result: FloatArray = (ranks_left * ranks_right).sum(axis=1) / norm
    return result


def quality_table(runs: list[Run], zones: list[str]) -> list[str]:
    # The belief at submit is the same with or without re-planning: shown once.
    shown = [run for run in runs[1:] if run.quality and not run.replan]
    out = [
        "## What the forecasts get wrong: ranking of hours, per zone (jobs after the warm-up)",
        "",
        "At each decision, the next 24 hourly values as believed vs true: mean Spearman rank",
        "correlation (1 = hours in the right order, what `temporal` needs) / MAPE / believed",
        "within-day spread (std over the 24 h) as a fraction of the true spread.",
        "",
        "| zone | " + " | ".join(run.label for run in shown) + " |",
        "|---|" + "---:|" * len(shown),
    ]
    for index, zone in enumerate(zones):
        cells = []
        for run in shown:
            rho, mape, spread = run.quality.get(index, (float("nan"),) * 3)
            cells.append(f"{rho:.2f} / {mape:.1%} / {spread:.0%}")
        out.append(f"| {zone} | " + " | ".join(cells) + " |")
    return [*out, ""]


def why_lines(runs: list[Run], zones: list[str]) -> list[str]:
    """Why the goal is missed, from the figures above (every claim is checked here)."""
    by_label = {run.label: run for run in runs}
    learned = by_label.get("lightgbm (p50)")
    naive = by_label.get("seasonal-naive (p50)")
    out = ["## Why", ""]
    if learned is not None and naive is not None and learned.quality and naive.quality:
        worse_rank = [
            i
            for i in learned.quality
            if round(learned.quality[i][0], 2) < round(naive.quality[i][0], 2)
        ]
        lower_mape = [i for i in worse_rank if learned.quality[i][1] < naive.quality[i][1]]
        flatter = [i for i in worse_rank if learned.quality[i][2] < naive.quality[i][2]]
        if worse_rank:
            out.append(
                "* `lightgbm` ranks the next 24 hours worse than seasonal-naive in "
                f"{_names(worse_rank, zones)}, and in {_names(lower_mape, zones)} of them its "
                "MAPE is lower all the same: `temporal` only compares candidate starts, so the "
                "order of hours decides savings, not absolute error. The model minimises "
                "(MAPE-weighted) absolute error of each hour's ratio to the last day's mean, "
                "and its belief is flatter than seasonal-naive's in "
                f"{_names(flatter, zones)} of those zones (spread column above): a flat "
                "forecast scores well on that loss and still puts the valley at the wrong hour."
            )
        rho = {zones[i]: learned.quality[i][0] for i in learned.quality}
        weakest = sorted(rho, key=rho.__getitem__)[:3]
        out.append(
            "* Worst-ranked zones for `lightgbm`: "
            + ", ".join(f"{zone} (rho {rho[zone]:.2f})" for zone in weakest)
            + ". The embedded 2020 data has no weather forecasts, so the model sees only the "
            "recent days' and weeks' shape and the calendar; where wind moves the valley from "
            "day to day, that ranks poorly (the DACF section below, `--data dacf`, "
            "makes the same comparison with day-ahead weather and the provider's forecast)."
        )
    risk = by_label.get("seasonal-naive (p90, risk-averse)")
    if risk is not None and naive is not None:
        same = np.allclose(risk.co2_g()[1], naive.co2_g()[1])
        out.append(
            "* The risk-averse p90 of seasonal-naive "
            + ("plans exactly as its p50" if same else "plans differently from its p50")
            + ": its band is the point forecast plus a constant error quantile, which shifts "
            "every candidate window alike. `lightgbm` p90 is not measured here: its band needs "
            "the held-out fit (twice the training) and a calibration per decision."
        )
    return [*out, ""]


def replan_lines(runs: list[Run]) -> list[str]:
    """What re-planning held jobs every hour changed, per forecast, overall (figures above)."""
    everyone = np.ones(len(runs[0].result.jobs), dtype=bool)
    once = {run.forecast: run for run in runs if not run.replan and run.quantile == 0.5}
    out = ["## Re-planning held jobs every hour", ""]
    for run in runs:
        if not run.replan or run.forecast not in once:
            continue
        before, after = savings(once[run.forecast], everyone), savings(run, everyone)
        verb = "gains" if after > before else "loses"
        out.append(
            f"* {run.forecast}: {before:.2%} planned once, {after:.2%} re-planned: "
            f"{verb} {abs(after - before) * 100:.2f} points."
        )
    out += [
        "",
        "Re-planning only pays when the forecast at a later hour is better than the one at",
        "submit; a forecast that is as wrong later (persistence repeats yesterday whatever",
        "the hour) can chase its own noise and start jobs later for nothing.",
        "",
    ]
    return out


def signal_lines(runs: list[Run], jobs: JobTable, truth: IntensityGrid) -> list[str]:
    """Per zone: how much there is to find (oracle savings, the true within-day swing) against
    how wrong the best forecast is, from the figures of this run."""
    oracle = runs[0]
    out = [
        "## How much there is to find, against the forecast error",
        "",
        "Per zone: the oracle's savings; the true within-day swing (std of the next 24 hourly",
        "values over their mean, averaged over decisions); the best forecast by fraction of",
        "the oracle and its MAPE over the next 24 h at each decision (table above).",
        "",
        "| zone | oracle savings | within-day swing | best forecast | fraction | its MAPE |",
        "|---|---:|---:|---|---:|---:|",
    ]
    hours = np.arange(24, dtype=np.float64) * 3600.0
    grid = truth.grid
    for index, zone in enumerate(grid.zones):
        in_zone = jobs.home_zone == index
        decided = jobs.submit_s[in_zone]
        step_start = grid.origin_s + grid.step_of(decided) * grid.step_s
        starts = (step_start[:, None] + hours[None, :]).ravel()
        actual = truth.integral(index, starts, starts + 3600.0).reshape(-1, 24)
        swing = float(np.mean(actual.std(axis=1) / actual.mean(axis=1)))
        best = max(runs[1:], key=lambda run: savings(run, in_zone))
        mape = best.quality.get(index, (float("nan"),) * 3)[1]
        out.append(
            f"| {zone} | {savings(oracle, in_zone):.2%} | {swing:.1%} | {best.label} | "
            f"{fraction(best, oracle, in_zone)} | {mape:.1%} |"
        )
    return [*out, ""]


def _names(indices: list[int], zones: list[str]) -> str:
    return ", ".join(zones[i] for i in indices) or "none"


def fraction(run: Run, oracle: Run, rows: BoolArray) -> str:
    best = savings(oracle, rows)
    return "n/a" if best <= 0 else f"{savings(run, rows) / best:.0%}"


def per_zone_table(
    runs: list[Run], jobs: JobTable, zones: list[str], rows: BoolArray, title: str
) -> list[str]:
    out = [
        f"## Per home zone, {title}",
        "",
        "Savings (fraction of oracle); deadline misses in the last column (all forecasts).",
        "",
        "| zone | jobs | " + " | ".join(run.label for run in runs) + " | misses |",
        "|---|---:|" + "---:|" * len(runs) + "---:|",
    ]
    for index, zone in enumerate(zones):
        in_zone = rows & (jobs.home_zone == index)
        cells = [f"{savings(runs[0], in_zone):.2%}"] + [
            f"{savings(run, in_zone):.2%} ({fraction(run, runs[0], in_zone)})" for run in runs[1:]
        ]
        misses = sum(int(run.missed()[in_zone].sum()) for run in runs)
        out.append(f"| {zone} | {int(in_zone.sum())} | " + " | ".join(cells) + f" | {misses} |")
    return [*out, ""]


def goal_lines(runs: list[Run], jobs: JobTable, zones: list[str], after: BoolArray) -> list[str]:
    out = ["## Goal (>= 90 % of oracle savings in every zone)", ""]
    oracle = runs[0]
    for run in runs[1:]:
        ratios = []
        for index, zone in enumerate(zones):
            in_zone = jobs.home_zone == index
            best = savings(oracle, in_zone)
            ratios.append((savings(run, in_zone) / best if best > 0 else float("nan"), zone))
        below = [f"{zone} {ratio:.0%}" for ratio, zone in ratios if not ratio >= GOAL_FRACTION]
        overall = savings(run, np.ones(len(jobs), bool)) / savings(oracle, np.ones(len(jobs), bool))
        verdict = (
            "**met** in every zone"
            if not below
            else f"**NOT met**: {len(below)} of {len(zones)} zones below 90 % ({', '.join(below)})"
        )
        short = (
            ""
            if overall >= GOAL_FRACTION
            else f", {100 * (GOAL_FRACTION - overall):.0f} points short of 90 %"
        )
        out.append(f"* {run.label}: overall {overall:.0%} of oracle{short}; {verdict}.")
    return [*out, ""]


def section_markers(data_name: str) -> tuple[str, str]:
    prefix = f"<!-- bench/forecast_savings.py --data {data_name}"
    return f"{prefix}: begin -->", f"{prefix}: end -->"


def replace_section(document: str, data_name: str, report: str) -> str:
    """``document`` with the section of ``data_name`` replaced by ``report``, headings demoted.

    One file holds every data set, so a run must leave the others' sections as they are; a
    section not yet in the file is appended at the end.
    """
    begin, end = section_markers(data_name)
    demoted = "\n".join(
        "#" + line if line.startswith("#") else line for line in report.rstrip("\n").splitlines()
    )
    block = f"{begin}\n{demoted}\n{end}"
    start = document.find(begin)
    stop = document.find(end, start + len(begin)) if start >= 0 else -1
    if start < 0 or stop < 0:
        return document.rstrip("\n") + ("\n\n" if document.strip() else "") + block + "\n"
    return document[:start] + block + document[stop + len(end) :]


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as stream:
        stream.write(text)
    Path(temp).replace(path)


if __name__ == "__main__":
    raise SystemExit(main())
