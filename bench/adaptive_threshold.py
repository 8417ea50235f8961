"""Adaptive threshold vs the fixed 200 g/kWh, walk-forward on held-out weeks, zone by zone.

For each zone: one year of real hourly intensity (the embedded ENTSO-E 2020 data, and Electricity
Maps 2022 files from ../shared/data/electricitymaps-hourly, lifecycle basis), and seeded jobs
drawn from the workload model fitted to GAIA's PAI trace (GAIA's waiting limits: 6 h for jobs
under 2 h, 24 h otherwise), all homed in that zone. ``sim.adaptive.walk_forward`` refits the
learner every week on the two weeks before (persistence forecast, as in production) and plans
the next, unseen week with its choice; the fixed threshold plans the same held-out jobs.

``--duration-error S`` lets jobs run exp(S x N(0,1)) times their expected duration and gives
the learner the deadline margin as a second knob (candidates 0, 0.1, 0.25, 0.5; SLA: no more
misses than the carbon-agnostic baseline plus 1 % of jobs). ``--fixed-latency-risk R`` gives the
fixed default (and the learner's default) that margin, for a like-for-like comparison.

Prints, per zone: mean intensity, share of hours at or below 200, then for the fixed default
and the adaptive learner the emissions (kg), avoided % against carbon-agnostic, deadline misses
and mean delay, and the median chosen threshold. Run from the repository root:

    .venv/bin/python bench/adaptive_threshold.py [--jobs 20000] [--duration-error 0.2]

To decide for your own zone (Helm ``rl.enabled``), give its intensity history instead (any file
``carbon-kube simulate --intensity`` reads, a year is best; every zone in it is replayed):

    .venv/bin/python bench/adaptive_threshold.py --intensity my-zone.csv
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.zones import Zone
from carbon_kube.energy.power import default_power_model
from carbon_kube.policy.adaptive_threshold import AdaptiveThresholdArgs
from carbon_kube.policy.grids import IntensityGrid
from carbon_kube.providers.embedded import load_embedded_series
from carbon_kube.providers.files import read_intensity_file
from carbon_kube.sim.adaptive import WalkForwardResult, WalkForwardSettings, walk_forward
from carbon_kube.sim.generator import generate_job_table
from carbon_kube.sim.job_trace import to_policy_jobs
from carbon_kube.sim.overruns import actual_durations_s

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "electricitymaps-hourly"
EMBEDDED_ZONES = ("PL", "IT", "DE", "GB", "FR", "AT")
EM_ZONES = ("DE", "FR", "SE-SE3", "GB", "US-MIDA-PJM", "US-CAL-CISO", "IN-WE", "AU-NSW")
FIXED_G_PER_KWH = 200.0
_TAIL = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class ZoneRun:
    label: str
    series: IntensitySeries
    result: WalkForwardResult


def run_zone(
    series: IntensitySeries, n_jobs: int, sigma: float, seed: int, settings: WalkForwardSettings
) -> WalkForwardResult:
    truth = IntensityGrid({series.zone: series})
    table = generate_job_table(
        n_jobs,
        series.start,
        [series.zone],
        seed,
        model="pai",
        span=series.end - series.start - _TAIL,
    )
    jobs = to_policy_jobs(table, truth.grid.zones)
    inside = np.flatnonzero(
        np.maximum(jobs.deadline_s, jobs.submit_s + 8 * jobs.duration_s) < truth.grid.end_s
    )
    jobs = jobs.take(inside)
    power = default_power_model()
    power_w = (jobs.cpus * power.watts_per_vcpu + jobs.memory_gib * power.watts_per_gib) * power.pue
    actual = actual_durations_s(jobs, sigma, seed)
    return walk_forward(jobs, truth, power_w, actual, settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--jobs", type=int, default=20_000, help="jobs per zone-year")
    parser.add_argument("--duration-error", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument(
        "--fixed-latency-risk",
        type=float,
        default=0.0,
        help="the fixed default's margin (Helm threshold.latencyRisk), also the learner's default",
    )
    parser.add_argument(
        "--intensity", type=Path, action="append", help="replay these files' zones instead"
    )
    options = parser.parse_args()
    risks = (0.0, 0.1, 0.25, 0.5) if options.duration_error > 0 else (0.0,)
    settings = WalkForwardSettings(
        args=AdaptiveThresholdArgs(
            latency_risks=risks,
            max_extra_miss_rate=0.01 if options.duration_error > 0 else 0.0,
            default_threshold_g_per_kwh=FIXED_G_PER_KWH,
            default_latency_risk=options.fixed_latency_risk,
        )
    )
    sources: list[tuple[str, IntensitySeries]] = []
    if options.intensity:
        for path in options.intensity:
            sources += [(f"{z} ({path.name})", s) for z, s in read_intensity_file(path).items()]
    else:
        embedded = load_embedded_series()
        sources += [(f"{z} 2020 (embedded)", embedded[Zone(z)]) for z in EMBEDDED_ZONES]
        for zone in EM_ZONES:
            found = read_intensity_file(options.data / f"{zone}_2022_hourly.csv.gz")
            sources.append((f"{zone} 2022 (EM)", found[Zone(zone)]))
    runs = []
    with Progress(transient=True) as progress:
        task = progress.add_task("zones", total=len(sources))
        for label, series in sources:
            result = run_zone(series, options.jobs, options.duration_error, options.seed, settings)
            runs.append(ZoneRun(label, series, result))
            progress.advance(task)
    print_table(runs, options.duration_error, options.fixed_latency_risk)


def print_table(runs: list[ZoneRun], sigma: float, fixed_risk: float) -> None:
    table = Table(
        title=f"threshold: fixed {FIXED_G_PER_KWH:.0f} g/kWh (latency risk {fixed_risk}) vs "
        f"adaptive, held-out weeks (persistence forecast, duration error sigma {sigma})"
    )
    for column in (
        "zone",
        "mean g/kWh",
        "h <= 200",
        "jobs",
        "base kg",
        "fixed kg",
        "fixed %",
        "fixed miss",
        "adapt kg",
        "adapt %",
        "adapt miss",
        "fixed/adapt delay h",
        "median thr",
        "median risk",
    ):
        table.add_column(column, justify="right" if column != "zone" else "left")
    for run in runs:
        r = run.result
        values = run.series.values_g_per_kwh
        thresholds = [c.threshold_g_per_kwh for c in r.choices]
        risks = [c.latency_risk for c in r.choices]
        table.add_row(
            run.label,
            f"{values.mean():.0f}",
            f"{100 * np.mean(values <= FIXED_G_PER_KWH):.0f} %",
            f"{r.held_out_jobs:,}",
            f"{r.baseline.co2_g / 1e3:,.0f}",
            f"{r.fixed.co2_g / 1e3:,.0f}",
            f"{r.avoided_pct(r.fixed):.2f}",
            f"{r.fixed.deadline_misses}",
            f"{r.adaptive.co2_g / 1e3:,.0f}",
            f"{r.avoided_pct(r.adaptive):.2f}",
            f"{r.adaptive.deadline_misses}",
            f"{r.fixed.mean_delay_s / 3600:.1f}/{r.adaptive.mean_delay_s / 3600:.1f}",
            f"{np.median(thresholds):.0f}",
            f"{np.median(risks):.2f}",
        )
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
