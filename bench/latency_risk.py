"""Deadline misses vs emissions at several ``latency_risk`` margins, with jobs that overrun.

Intensity: Electricity Maps 2022 hourly files (../shared/data/electricitymaps-hourly, lifecycle
basis) for DE, GB, FR and US-CAL-CISO. Jobs: seeded draws from the workload model fitted to
GAIA's PAI trace (GAIA's waiting limits: 6 h for jobs under 2 h, 24 h otherwise), homed
evenly across the zones, no migration. Each job really runs exp(sigma x N(0,1)) times its
expected duration (``sim.overruns``; an assumption, the shipped traces have no estimates), the
same draw under every policy. Policies plan with the persistence forecast.

Prints, per policy and margin: emissions (kg), avoided % against carbon-agnostic, deadline
misses (the baseline's own, from overruns of jobs started at submit, in the title) and mean
delay. Run from the repository root:

    .venv/bin/python bench/latency_risk.py [--jobs 20000] [--sigma 0.2]
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from carbon_kube.domain.zones import Zone
from carbon_kube.energy.power import default_power_model
from carbon_kube.policy.grids import IntensityGrid
from carbon_kube.providers.files import read_intensity_file
from carbon_kube.sim.engine import SimulationResult, SimulationSettings, simulate
from carbon_kube.sim.generator import generate_job_table
from carbon_kube.sim.job_trace import to_policy_jobs

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "electricitymaps-hourly"
ZONES = ("DE", "GB", "FR", "US-CAL-CISO")
RISKS = (0.0, 0.1, 0.25, 0.5)
POLICIES = ("threshold", "temporal")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--sigma", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=2022)
    options = parser.parse_args()
    series = {}
    for zone in ZONES:
        series.update(read_intensity_file(options.data / f"{zone}_2022_hourly.csv.gz"))
    truth = IntensityGrid({Zone(z): series[Zone(z)] for z in ZONES})
    first = series[Zone(ZONES[0])].start
    table = generate_job_table(
        options.jobs,
        first + timedelta(days=1),
        [Zone(z) for z in ZONES],
        options.seed,
        model="pai",
        span=timedelta(days=340),
    )
    jobs = to_policy_jobs(table, truth.grid.zones)
    base = SimulationSettings(
        policies=POLICIES,
        power=default_power_model(),
        forecast="persistence",
        duration_error_sigma=options.sigma,
        duration_error_seed=options.seed,
    )
    results: list[tuple[float, SimulationResult]] = []
    with Progress(transient=True) as progress:
        task = progress.add_task("margins", total=len(RISKS))
        for risk in RISKS:
            results.append((risk, simulate(jobs, truth, replace(base, latency_risk=risk))))
            progress.advance(task)
    baseline = results[0][1].baseline
    baseline_g = float(baseline.co2_g.sum())
    table_out = Table(
        title=f"{len(jobs):,} PAI-fitted jobs on EM 2022 {', '.join(ZONES)}, persistence "
        f"forecast, duration error sigma {options.sigma}; carbon-agnostic: "
        f"{baseline_g / 1000:,.0f} kg, {int(baseline.deadline_missed.sum())} misses"
    )
    for column in ("policy", "latency risk", "kg", "avoided %", "misses", "mean delay h"):
        table_out.add_column(column, justify="left" if column == "policy" else "right")
    for name in POLICIES:
        for risk, result in results:
            outcome = result.outcomes[name]
            grams = float(outcome.co2_g.sum())
            table_out.add_row(
                name,
                f"{risk:.2f}",
                f"{grams / 1000:,.0f}",
                f"{100 * (baseline_g - grams) / baseline_g:.2f}",
                f"{int(outcome.deadline_missed.sum())}",
                f"{float(outcome.delay_s.mean()) / 3600:.2f}",
            )
    Console(width=120).print(table_out)


if __name__ == "__main__":
    main()
