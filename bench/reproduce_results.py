"""Reproduce published carbon-aware scheduling results with our policies and simulator.

(a) Let's Wait Awhile (Wiesner et al., Middleware'21) on their own 2020 data for DE, GB and FR,
    at 30-minute steps: scenario I (a nightly job shifted within +-0..8 h) and scenario II
    (3,387 ad-hoc ML jobs with Next Workday / Semi-Weekly deadlines, with and without
    interruption, with 0/5/10 % forecast error).
(b) GAIA's PAI and Azure traces (ASPLOS'24) with GAIA's waiting limits on Electricity Maps 2022
    data: the baseline, every policy, and the oracle vs persistence forecasts.

Two steps: the runs write their figures as JSON (docs/results.json), and ``render`` turns that
JSON into docs/results.md, so the prose can be edited and re-rendered without re-running the
simulations. Run from the repository root (the runs take a few minutes on 2 cores):

    .venv/bin/python bench/reproduce_results.py [--data ../shared/data] [--json docs/results.json]
        [--out docs/results.md]
    .venv/bin/python bench/reproduce_results.py --render-only [--json ...] [--out ...]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from carbon_kube.domain.arrays import FloatArray
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.zones import Zone
from carbon_kube.energy.power import PowerModel, default_power_model
from carbon_kube.policy import temporal
from carbon_kube.policy.forecasts import Forecast, OracleForecast, PersistenceForecast
from carbon_kube.policy.grids import IntensityGrid, StepGrid
from carbon_kube.policy.jobs import JobTable
from carbon_kube.policy.registry import POLICIES, plan_jobs
from carbon_kube.providers.files import ReadOptions, read_intensity_file
from carbon_kube.sim.engine import PolicyOutcome, measure
from carbon_kube.sim.job_trace import to_policy_jobs
from carbon_kube.sim.traces import ConvertOptions, convert_gaia
from carbon_kube.storage.atomic import write_text_atomically

ROOT = Path(__file__).resolve().parents[1]
console = Console()

LWA_FILES = {"DE": "ger_ci.csv.gz", "GB": "gb_ci.csv.gz", "FR": "fr_ci.csv.gz"}
# Published Next-Workday savings with a perfect forecast (LWA paper, section 6).
LWA_PUBLISHED_NEXT_WORKDAY = {
    "non-interruptible": {"DE": 5.93, "GB": 6.57, "FR": 4.79},
    "interruptible": {"DE": 8.16, "GB": 9.23, "FR": 6.22},
}
LWA_JOBS = 3_387
LWA_SEED = 0
NOISE_SEEDS = (0, 1, 2, 3, 4)
ERRORS = (0.0, 0.05, 0.10)
# Constant power: savings in per cent do not depend on the value.
CONSTANT_POWER = PowerModel(watts_per_vcpu=1000.0, watts_per_gib=0.0, pue=1.0)
NO_OVERHEAD = temporal.TemporalArgs(pauses=True, resume_overhead=timedelta(0))
NO_PAUSES = temporal.TemporalArgs(pauses=False)

GAIA_TRACES = {"PAI": "pai-100k.csv.gz", "Azure": "azure-100k.csv.gz"}
GAIA_HOME = Zone("DE")
GAIA_ZONES = (Zone("DE"), Zone("FR"), Zone("GB"))
GAIA_START = datetime(2022, 1, 1, tzinfo=UTC)


# --- shared helpers ----------------------------------------------------------------------------


class NoisyForecast:
    """LWA's forecast error: ``believed = true + N(0, sigma x mean)`` per step, one series per run.

    As in their simulator the standard deviation is ``sigma`` times the zone's mean intensity
    (from 2020-01-01 on) and every decision sees the same noisy series; we clip at 0 g/kWh
    because a series cannot be negative (it only matters for FR at 10 %, rarely).
    """

    def __init__(self, truth: IntensityGrid, sigma: float, seed: int) -> None:
        rng = np.random.default_rng(seed)
        grid = truth.grid
        noisy = {}
        first = int((datetime(2020, 1, 1, tzinfo=UTC).timestamp() - grid.origin_s) // grid.step_s)
        for i, zone in enumerate(grid.zones):
            true = truth.values_g_per_kwh[i]
            values = true + rng.normal(0, sigma * true[first:].mean(), grid.n_steps)
            noisy[zone] = IntensitySeries(
                zone=zone,
                start=datetime.fromtimestamp(grid.origin_s, UTC),
                step=timedelta(seconds=grid.step_s),
                values_g_per_kwh=np.maximum(values, 0.0),
            )
        self._believed = IntensityGrid(noisy)
        self.name = f"noisy-{sigma:.0%}"

    @property
    def grid(self) -> StepGrid:
        return self._believed.grid

    def integral(
        self, zone_index: int, decided_s: FloatArray, start_s: FloatArray, end_s: FloatArray
    ) -> FloatArray:
        return self._believed.integral(zone_index, start_s, end_s)


def run_policy(
    name: str, jobs: JobTable, forecast: Forecast, truth: IntensityGrid, args: object = None
) -> PolicyOutcome:
    """Plan with ``forecast`` at submit time, measure on ``truth`` (the engine's own measure)."""
    power_w = (jobs.cpus * CONSTANT_POWER.watts_per_vcpu) * CONSTANT_POWER.pue
    began = time.perf_counter()
    schedule = plan_jobs(name, jobs, forecast, jobs.submit_s, args)
    return measure(name, jobs, schedule, truth, power_w, time.perf_counter() - began)


def savings_by_zone(
    jobs: JobTable, outcome: PolicyOutcome, baseline: PolicyOutcome
) -> dict[str, float]:
    result = {}
    for i, zone in enumerate(jobs.zones):
        rows = jobs.home_zone == i
        if rows.any():
            base = baseline.co2_g[rows].sum()
            result[str(zone)] = 100.0 * (base - outcome.co2_g[rows].sum()) / base
    return result


def single_zone_jobs(
    zones: tuple[Zone, ...],
    zone_of_job: np.ndarray,
    submit_s: FloatArray,
    duration_s: FloatArray,
    deadline_s: FloatArray,
    interruptible: bool,
) -> JobTable:
    n = submit_s.size
    allowed = np.zeros((n, len(zones)), dtype=np.bool_)
    allowed[np.arange(n), zone_of_job] = True
    return JobTable(
        job_ids=[f"job-{i}" for i in range(n)],
        zones=zones,
        submit_s=submit_s.astype(np.float64),
        duration_s=duration_s.astype(np.float64),
        deadline_s=deadline_s.astype(np.float64),
        cpus=np.ones(n),
        memory_gib=np.zeros(n),
        home_zone=zone_of_job.astype(np.int64),
        allowed=allowed,
        interruptible=np.full(n, interruptible),
    )


# --- (a) Let's Wait Awhile ---------------------------------------------------------------------


def load_lwa(data: Path) -> IntensityGrid:
    """LWA's CI files at 30-minute steps: the :00 and :30 values, as their simulator keeps.

    DE (and GB after 2020-10-31) are 15-minute data; LWA drops the :15 and :45 values rather
    than averaging them, and so do we, to replay the same series.
    """
    series = {}
    for zone, file in LWA_FILES.items():
        frame = pd.read_csv(data / "lets-wait-awhile-2020" / file, parse_dates=["Time"])
        values = frame.set_index("Time")["Carbon Intensity"]
        values = values[values.index.minute % 30 == 0].loc["2019-12-25":"2021-01-09 21:30"]
        steps = np.diff(values.index.asi8)
        if values.isna().any() or np.any(steps != steps[0]):
            raise ValueError(f"{file}: gaps or NaN at 30-minute steps")
        series[Zone(zone)] = IntensitySeries(
            zone=Zone(zone),
            start=values.index[0].tz_localize(UTC).to_pydatetime(),
            step=timedelta(minutes=30),
            values_g_per_kwh=values.to_numpy(float),
        )
    return IntensityGrid(series)


def days_2020() -> pd.DatetimeIndex:
    return pd.date_range("2020-01-01", "2020-12-31", freq="D", tz=UTC)


@dataclass
class ScenarioOne:
    windows_h: list[int]
    savings: dict[str, list[float]]


def run_scenario_one(truth: IntensityGrid, advance: Callable[[], None]) -> ScenarioOne:
    zones = truth.grid.zones
    days = days_2020()
    one_am = np.array([d.timestamp() + 3600 for d in days], dtype=np.float64)
    zone_of_job = np.repeat(np.arange(len(zones)), one_am.size)
    nightly = np.tile(one_am, len(zones))
    half_hour = np.full(nightly.size, 1800.0)
    fixed = single_zone_jobs(zones, zone_of_job, nightly, half_hour, nightly + 1800, False)
    baseline = run_policy("carbon-agnostic", fixed, OracleForecast(truth), truth)
    windows = list(range(9))
    savings: dict[str, list[float]] = {str(z): [] for z in zones}
    for window_h in windows:
        shift = window_h * 3600.0
        jobs = single_zone_jobs(
            zones, zone_of_job, nightly - shift, half_hour, nightly + shift + 1800, False
        )
        outcome = run_policy("temporal", jobs, OracleForecast(truth), truth, NO_PAUSES)
        for zone, pct in savings_by_zone(jobs, outcome, baseline).items():
            savings[zone].append(pct)
        advance()
    return ScenarioOne(windows, savings)


def ml_jobs() -> tuple[FloatArray, FloatArray]:
    """LWA's 3,387 ML jobs, drawn the way their generator draws them (so the same jobs).

    Their process, with numpy's ``default_rng(0)``: a multinomial split of the jobs over the
    Monday-Friday days of 2020; per calendar day, sorted start slots drawn from 09:00..16:30 in
    30-minute steps; then all durations from 4 h .. 89.5 h in 30-minute steps. Replaying the
    same calls on the same generator gives the same jobs (numpy keeps these streams stable).
    """
    rng = np.random.default_rng(LWA_SEED)
    days = days_2020()
    workdays = [day for day in days if day.weekday() < 5]
    per_workday = rng.multinomial(LWA_JOBS, [1 / len(workdays)] * len(workdays))
    count = dict(zip(workdays, per_workday, strict=True))
    slots_min = np.arange(9 * 60, 17 * 60, 30)
    submit_s: list[float] = []
    for day in days:
        n = int(count.get(day, 0))
        starts_min = np.sort(rng.choice(slots_min, size=n))
        submit_s.extend(day.timestamp() + 60.0 * float(m) for m in starts_min)
    durations_min = rng.choice(np.arange(4 * 60, 90 * 60, 30), size=LWA_JOBS)
    return np.array(submit_s), durations_min.astype(float) * 60.0


def next_workday_due(finish_s: FloatArray) -> FloatArray:
    """LWA's "Next Workday" rule, as their simulator applies it to the earliest finish.

    A job that would finish on a workday between 09:00 and 17:00 gets no slack; after 17:00 it
    is due at 09:00 the next day; before 09:00 at 09:00 that day; on Saturday or Sunday at
    Monday 09:00. (Their rule sends a Friday-evening finish to Saturday 09:00; we keep that.)
    """
    result = np.empty_like(finish_s)
    for i, finish in enumerate(finish_s):
        at = datetime.fromtimestamp(finish, UTC)
        nine = at.replace(hour=9, minute=0, second=0)
        hour = at.hour + at.minute / 60
        if at.weekday() == 5:
            due = nine + timedelta(days=2)
        elif at.weekday() == 6 or hour > 17:
            due = nine + timedelta(days=1)
        elif hour < 9:
            due = nine
        else:
            due = at
        result[i] = due.timestamp()
    return result


def semi_weekly_due(finish_s: FloatArray) -> FloatArray:
    """LWA's "Semi-Weekly" rule: the first Monday or Thursday 09:00 at or after the finish."""
    result = np.empty_like(finish_s)
    for i, finish in enumerate(finish_s):
        at = datetime.fromtimestamp(finish, UTC)
        due = at.replace(hour=9, minute=0, second=0)
        if due < at:
            due += timedelta(days=1)
        while due.weekday() not in (0, 3):
            due += timedelta(days=1)
        result[i] = due.timestamp()
    return result


DEADLINES: dict[str, Callable[[FloatArray], FloatArray]] = {
    "Next Workday": next_workday_due,
    "Semi-Weekly": semi_weekly_due,
}


@dataclass
class ScenarioTwo:
    # (deadline, mode, error) -> zone -> savings %
    savings: dict[tuple[str, str, float], dict[str, float]]
    mean_window_h: dict[str, float]


def run_scenario_two(truth: IntensityGrid, advance: Callable[[], None]) -> ScenarioTwo:
    zones = truth.grid.zones
    submit_s, duration_s = ml_jobs()
    zone_of_job = np.repeat(np.arange(len(zones)), submit_s.size)
    submit = np.tile(submit_s, len(zones))
    duration = np.tile(duration_s, len(zones))
    results: dict[tuple[str, str, float], dict[str, float]] = {}
    windows: dict[str, float] = {}
    for deadline_name, due in DEADLINES.items():
        deadline = due(submit + duration)
        windows[deadline_name] = float(np.mean(deadline - submit - duration) / 3600)
        for mode, interruptible in (("non-interruptible", False), ("interruptible", True)):
            jobs = single_zone_jobs(zones, zone_of_job, submit, duration, deadline, interruptible)
            baseline = run_policy("carbon-agnostic", jobs, OracleForecast(truth), truth)
            args = NO_OVERHEAD if interruptible else NO_PAUSES
            for error in ERRORS:
                seeds = (0,) if error == 0 else NOISE_SEEDS
                runs = []
                for seed in seeds:
                    forecast: Forecast = (
                        OracleForecast(truth) if error == 0 else NoisyForecast(truth, error, seed)
                    )
                    outcome = run_policy("temporal", jobs, forecast, truth, args)
                    runs.append(savings_by_zone(jobs, outcome, baseline))
                    advance()
                results[deadline_name, mode, error] = {
                    zone: float(np.mean([r[zone] for r in runs])) for zone in runs[0]
                }
    return ScenarioTwo(results, windows)


# --- (b) GAIA traces on Electricity Maps 2022 --------------------------------------------------


def load_em_2022(data: Path) -> IntensityGrid:
    series = {}
    for zone in GAIA_ZONES:
        path = data / "electricitymaps-hourly" / f"{zone}_2022_hourly.csv.gz"
        series[zone] = read_intensity_file(path, ReadOptions())[zone]
    return IntensityGrid(series)


@dataclass
class GaiaRun:
    trace: str
    jobs: int
    dropped: int
    short_share: float
    rows: list[dict[str, object]]


def run_gaia(data: Path, truth: IntensityGrid, advance: Callable[[], None]) -> list[GaiaRun]:
    power = default_power_model()
    runs = []
    end_s = truth.grid.end_s
    for trace, file in GAIA_TRACES.items():
        options = ConvertOptions(start=GAIA_START, zone=GAIA_HOME, allowed_zones=GAIA_ZONES)
        table = convert_gaia(data / "gaia-job-traces" / file, options).table
        assert table.deadline_s is not None
        inside = np.flatnonzero(table.deadline_s <= end_s)
        jobs = to_policy_jobs(table.take(inside), truth.grid.zones)
        power_w = jobs.cpus * power.watts_per_vcpu * power.pue
        rows: list[dict[str, object]] = []
        for forecast in (OracleForecast(truth), PersistenceForecast(truth)):
            baseline: PolicyOutcome | None = None
            for name in POLICIES:
                began = time.perf_counter()
                args = NO_PAUSES if name == "temporal" else None
                schedule = plan_jobs(name, jobs, forecast, jobs.submit_s, args)
                outcome = measure(name, jobs, schedule, truth, power_w, time.perf_counter() - began)
                if baseline is None:
                    baseline = outcome
                base_t = baseline.co2_g.sum() / 1e6
                co2_t = outcome.co2_g.sum() / 1e6
                moved = np.bincount(outcome.lever, minlength=4)
                rows.append(
                    {
                        "forecast": forecast.name,
                        "policy": name,
                        "co2_t": co2_t,
                        "savings_pct": 100 * (base_t - co2_t) / base_t,
                        "energy_mwh": outcome.energy_kwh.sum() / 1000,
                        "mean_delay_h": outcome.delay_s.mean() / 3600,
                        "misses": int(outcome.deadline_missed.sum()),
                        "moved_region": int(moved[2] + moved[3]),
                        "seconds": outcome.seconds,
                    }
                )
                advance()
        short = float(np.mean(jobs.duration_s < 7200))
        runs.append(GaiaRun(trace, len(jobs), len(table) - inside.size, short, rows))
    return runs


# --- the report --------------------------------------------------------------------------------


def render(
    one: ScenarioOne,
    two: ScenarioTwo,
    gaia: list[GaiaRun],
    lwa_means: dict[str, float],
    em_means: dict[str, float],
    seconds: float,
) -> str:
    out = [
        "# Reproducing published results",
        "",
        "Written by `bench/reproduce_results.py` "
        f"(total runtime {seconds:.0f} s on this machine); re-run it to regenerate. "
        "Every number below comes from our policies (`carbon_kube.policy`) planning the jobs "
        "and the simulator's `measure` integrating power x *true* intensity over each run.",
        "",
        "Forecast accuracy against DACF (e-Energy'22) and what forecasts buy in savings, as a "
        "fraction of the oracle's, are linked at the end (section (d)): they live in the "
        "documents their own benchmarks write.",
        "",
        "## (a) Let's Wait Awhile (Wiesner et al., Middleware'21)",
        "",
        "Data: the paper's own carbon-intensity files (`lets-wait-awhile-2020`: ENTSO-E "
        "production, IPCC life-cycle factors) at 30-minute steps. DE, and GB after "
        "2020-10-31, are 15-minute data; like the paper's simulator we keep the :00 and :30 "
        "values. 2020 means, ours vs the paper's notebook: "
        + ", ".join(f"{z} {m:.1f}" for z, m in lwa_means.items())
        + " g/kWh vs DE 313.4, GB 213-215, FR 56.3. Times are the files' own clock, which is "
        "UTC. The paper's code uses the same naive timestamps, so its 01:00 and 09:00-17:00 are "
        "these hours too.",
        "",
        "### Scenario I: one 30-minute job per day at 01:00, shifted within +-W hours",
        "",
        "Baseline: the job runs at 01:00 every day of 2020. `temporal` (oracle) may start it "
        "anywhere in [01:00 - W, 01:00 + W].",
        "",
        "| zone | " + " | ".join(f"+-{w} h" for w in one.windows_h) + " |",
        "|---|" + "---|" * len(one.windows_h),
    ]
    for zone, values in one.savings.items():
        out.append(f"| {zone} | " + " | ".join(f"{v:.2f} %" for v in values) + " |")
    out += [
        "",
        "We have no published figure for scenario I to set beside these (the paper plots them); "
        "they are our numbers only. Two small differences from the paper's setup remain: "
        "we run all 366 days of 2020, and the paper's simulator runs 365 and drops the first "
        "day's job once the window reaches back before 2020-01-01.",
        "",
        "### Scenario II: 3,387 ad-hoc ML jobs",
        "",
        f"Jobs: {LWA_JOBS:,} jobs drawn by the paper's own process and seed (`default_rng("
        f"{LWA_SEED})`). A multinomial split spreads them over the Monday-Friday days of "
        "2020, each gets a start slot from 09:00 to 16:30, and durations run from 4 h to 89.5 h "
        "in 30-minute steps. Power is constant, and the same jobs run in each zone. Deadlines "
        "follow the paper's simulator, applied to the earliest finish (submit + duration). "
        "*Next Workday*: a job that would finish on a workday between 09:00 and 17:00 gets no "
        "slack. After 17:00 it is due at 09:00 the next day (a Friday-evening finish is due "
        "on Saturday, exactly as in their code). Before 09:00 it is due at 09:00 the same day, "
        "and at weekends on Monday 09:00. *Semi-Weekly*: due at the first Monday or Thursday "
        "09:00. Mean slack: "
        + ", ".join(f"{k} {v:.1f} h" for k, v in two.mean_window_h.items())
        + ". Baseline: start at submit. `temporal` picks the best contiguous start "
        "(non-interruptible), or splits the job into the cheapest 30-minute slots "
        "(interruptible; no resume overhead, as in the paper). Forecast error is the paper's "
        "model: true series + N(0, sigma x the zone's mean) per step, one noisy series per "
        f"run, averaged over {len(NOISE_SEEDS)} draws (the paper used 10).",
        "",
        "**Next Workday, perfect forecast: ours vs published**",
        "",
        "| zone | non-interruptible ours | published | interruptible ours | published |",
        "|---|---|---|---|---|",
    ]
    for zone in LWA_FILES:
        ours_n = two.savings["Next Workday", "non-interruptible", 0.0][zone]
        ours_i = two.savings["Next Workday", "interruptible", 0.0][zone]
        pub_n = LWA_PUBLISHED_NEXT_WORKDAY["non-interruptible"][zone]
        pub_i = LWA_PUBLISHED_NEXT_WORKDAY["interruptible"][zone]
        out.append(f"| {zone} | {ours_n:.2f} % | {pub_n:.2f} % | {ours_i:.2f} % | {pub_i:.2f} % |")
    out += [
        "",
        "**All combinations (savings vs start-at-submit)**",
        "",
        "| deadline | mode | forecast error | DE | GB | FR |",
        "|---|---|---|---|---|---|",
    ]
    for (deadline, mode, error), by_zone in two.savings.items():
        out.append(
            f"| {deadline} | {mode} | {error:.0%} | "
            + " | ".join(f"{by_zone[z]:.2f} %" for z in LWA_FILES)
            + " |"
        )
    out += ["", GAIA_HEADER.format(home=GAIA_HOME, zones=", ".join(GAIA_ZONES))]
    out.append(
        "Electricity Maps 2022 means (life-cycle, g/kWh): "
        + ", ".join(f"{z} {m:.1f}" for z, m in em_means.items())
        + "."
    )
    for run in gaia:
        out += [
            "",
            f"### {run.trace}: {run.jobs:,} jobs ({run.dropped} dropped whose deadline falls "
            f"after 2022; {100 * run.short_share:.1f} % shorter than 2 h)",
            "",
            "| forecast | policy | CO2 (t) | savings | energy (MWh) | mean delay (h) | "
            "deadline misses | jobs moved to another zone | plan time (s) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for row in run.rows:
            out.append(
                f"| {row['forecast']} | {row['policy']} | {row['co2_t']:.2f} | "
                f"{row['savings_pct']:.2f} % | {row['energy_mwh']:.2f} | "
                f"{row['mean_delay_h']:.2f} | {row['misses']} | {row['moved_region']} | "
                f"{row['seconds']:.1f} |"
            )
    out += ["", DIFFERENCES, *forecasting_sections(ROOT / "docs")]
    return "\n".join(out) + "\n"


FORECAST_LINKS = """## (d) Forecasting: accuracy against DACF, and savings against the oracle

* Forecast accuracy (day-ahead MAPE and p10-p90 coverage against DACF and on Electricity Maps
  zones) lives in [forecasting.md](forecasting.md), written by `bench/forecast_backtest.py`.
* What forecasts buy in savings, as a fraction of the oracle's, per zone, on the embedded data
  and on the DACF regions, lives in [forecasting_simulation.md](forecasting_simulation.md),
  written by `bench/forecast_savings.py`."""


def forecasting_sections(docs: Path) -> list[str]:
    """Section (d): links to the documents the forecasting benches write, one home per figure."""
    return ["", FORECAST_LINKS]


GAIA_HEADER = """## (b) GAIA's traces with GAIA's waiting limits on Electricity Maps 2022

Jobs: GAIA's `pai-100k` and `azure-100k` traces converted with `carbon-kube traces convert
--format gaia --start 2022-01-01 --zone {home} --allowed-zones '{zones}'`. A job may wait 6 h if
it is shorter than 2 h and 24 h otherwise. Home zone {home}; the spatial policies may also use
the other zones. Intensity: Electricity Maps 2022 hourly, life-cycle basis. Power: CCF AWS
defaults (2.12 W per vCPU at 50 % utilisation, PUE 1.135); the traces carry no memory. Jobs are
not interruptible, capacity is unlimited, and the threshold policy uses its default of
200 g/kWh. `carbon-agnostic` is the baseline in each block. `oracle` sees the true future;
`persistence` believes tomorrow repeats the last 24 h."""

DIFFERENCES = """## Differences we cannot close, and why

* **Let's Wait Awhile, scenario II: within 0.12 percentage points, not exact.** Our setup
  matches the paper's on data, jobs, deadlines and error model (see above). Our Next-Workday
  numbers land 0.00-0.12 points from the published ones, some above and some below. We could
  not pin down the cause. The candidates are: (1) numpy's generator streams in their 2021
  environment versus ours (numpy 2.4). If any call drew differently, the job set differs;
  we cannot check this without their job list, which they do not publish. (2) Ties. Their
  interruptible strategy takes every step whose forecast is <= the k-th lowest, so it can run
  a job for more steps than it needs; ours takes exactly the job's duration. (3) Float
  rounding in their simpy clock, which measures power 0.01 min into each 30-minute step.
  None of these would move a result by more than a few tenths of a point.
* **Our first, naive reading of the deadlines did not reproduce the paper.** That first
  version drew its own jobs (uniform workday slots, 4-90 h) and made every job due at the first
  workday 09:00 after its earliest finish. It gave 9.0 / 9.7 / 7.2 % (DE / GB / FR,
  non-interruptible), about 1.5 x the published figures, because jobs that finish inside
  working hours also got a night of slack. The paper's code gives those jobs none; with that
  rule the numbers match. The Friday-evening -> Saturday 09:00 quirk is kept on purpose.
* **GAIA.** GAIA's published results use its own carbon traces, a time-compression factor
  (`TIME_FACTOR = 5`) and cost-aware reserved/on-demand capacity. We replay the traces at
  real time on Electricity Maps 2022 data with unlimited capacity and report carbon only. So
  section (b) compares our policies with each other, not with GAIA's published figures.
  The temporal policy tries step boundaries and the latest safe start but not end-aligned
  starts, because GAIA durations are not whole hours. The loss from that is bounded by one
  step's intensity difference over the fractional hour.
* **Why the GAIA rows look the way they do.** *spatial* saves about 81 % because a DE job may
  move to FR, whose 2022 life-cycle mean is about a fifth of DE's. That is the region lever
  with unlimited capacity, an upper bound. *threshold* saves almost nothing: DE's life-cycle
  intensity is rarely below 200 g/kWh, so the policy holds nearly every job to its latest
  safe start, which is no better on average than its submit time. *temporal* shows the time
  lever. Its oracle and persistence rows differ by about 5 points. Persistence plans with
  yesterday's profile, so on days when the weather changes it picks an hour that is no longer
  the cheapest. That gap is the value of a better forecast (issue "Forecasting"), not a
  simulator error. Energy is identical under every policy here (no pauses, so no overhead),
  as the property tests require.
"""


@dataclass
class Results:
    """Every figure the report shows: what the runs write and ``render`` reads."""

    one: ScenarioOne
    two: ScenarioTwo
    gaia: list[GaiaRun]
    lwa_means: dict[str, float]
    em_means: dict[str, float]
    seconds: float

    def to_json(self) -> str:
        two = [
            {"deadline": d, "mode": m, "error": e, "savings_by_zone": by_zone}
            for (d, m, e), by_zone in self.two.savings.items()
        ]
        document = {
            "scenario_one": asdict(self.one),
            "scenario_two": {"savings": two, "mean_window_h": self.two.mean_window_h},
            "gaia": [asdict(run) for run in self.gaia],
            "lwa_means_g_per_kwh": self.lwa_means,
            "em_means_g_per_kwh": self.em_means,
            "seconds": self.seconds,
        }
        return json.dumps(document, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Results:
        document = json.loads(text)
        two = document["scenario_two"]
        return cls(
            one=ScenarioOne(**document["scenario_one"]),
            two=ScenarioTwo(
                savings={
                    (row["deadline"], row["mode"], float(row["error"])): row["savings_by_zone"]
                    for row in two["savings"]
                },
                mean_window_h=two["mean_window_h"],
            ),
            gaia=[GaiaRun(**run) for run in document["gaia"]],
            lwa_means=document["lwa_means_g_per_kwh"],
            em_means=document["em_means_g_per_kwh"],
            seconds=float(document["seconds"]),
        )


def run_all(data: Path) -> Results:
    """Every simulation of the report, with progress bars; minutes on 2 cores."""
    began = time.perf_counter()
    lwa = load_lwa(data)
    lwa_means = {}
    for i, zone in enumerate(lwa.grid.zones):
        origin = lwa.grid.origin_s
        first = int((datetime(2020, 1, 1, tzinfo=UTC).timestamp() - origin) // lwa.grid.step_s)
        lwa_means[str(zone)] = float(lwa.values_g_per_kwh[i, first : first + 17_568].mean())
    em = load_em_2022(data)
    em_means = {str(z): float(em.values_g_per_kwh[i].mean()) for i, z in enumerate(em.grid.zones)}

    steps_two = len(DEADLINES) * 2 * (1 + len(NOISE_SEEDS) * (len(ERRORS) - 1))
    steps_gaia = len(GAIA_TRACES) * 2 * len(POLICIES)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("LWA scenario I", total=9)
        one = run_scenario_one(lwa, lambda: progress.advance(task))
        task = progress.add_task("LWA scenario II", total=steps_two)
        two = run_scenario_two(lwa, lambda: progress.advance(task))
        task = progress.add_task("GAIA traces on EM 2022", total=steps_gaia)
        gaia = run_gaia(data, em, lambda: progress.advance(task))
    return Results(one, two, gaia, lwa_means, em_means, time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    default_data = os.environ.get("CARBON_KUBE_SHARED_DATA", str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--data", type=Path, default=Path(default_data))
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "results.json")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "results.md")
    parser.add_argument(
        "--render-only", action="store_true", help="render --json into --out without running"
    )
    args = parser.parse_args()
    if args.render_only:
        results = Results.from_json(args.json.read_text())
    else:
        results = run_all(args.data)
        write_text_atomically(args.json, results.to_json())
        console.print(f"wrote {args.json} in {results.seconds:.0f} s")
    write_text_atomically(args.out, render_results(results))
    console.print(f"wrote {args.out}")


def render_results(results: Results) -> str:
    return render(
        results.one,
        results.two,
        results.gaia,
        results.lwa_means,
        results.em_means,
        results.seconds,
    )


if __name__ == "__main__":
    main()
