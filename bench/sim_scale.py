"""Scale benchmark: N jobs x 8 zones x one hourly year x 5 policies (goal: 1M in < 60 s, < 2 GB).

Intensity: the eight Electricity Maps zones complete for all of 2022 in ../shared/data
(US-MIDA-PJM, US-CAL-CISO, GB, DE, FR, IE, SE-SE3, ES), lifecycle basis, read as they are.
Jobs: synthetic, seeded, shaped like batch traces (this bench measures speed, not savings):
arrivals uniform over 2022-01-02 .. 2022-12-29, durations log-normal (median 20 min, sigma 1.5,
clipped to 1 min .. 48 h), vCPUs from {1, 2, 4, 8, 16, 32}, GAIA's waiting limits (6 h for jobs
under 2 h, 24 h otherwise), home zone uniform, half the jobs may use every zone, the rest only
their home zone, 10 % interruptible.

Prints plan+measure seconds and jobs/s per policy, the total, and peak memory (ru_maxrss and
tracemalloc's peak of Python allocations, which includes numpy buffers). ``--capacity-jobs``
also times the greedy capacity ledger on a smaller set (it loops over jobs in Python).

``--cli`` also runs what a user runs: the same jobs written as a job CSV, then
``carbon-kube simulate --jobs ... --intensity <the 8 files>`` in a fresh process, with and
without the per-job ``jobs.csv`` (``--no-jobs-file``), timing the whole command (reading and
checking the trace, simulating, writing the outputs) and its peak RSS. Goal for 1M jobs:
< 60 s and < 2 GB for the whole command on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from carbon_kube.domain.zones import Zone
from carbon_kube.energy.power import default_power_model
from carbon_kube.policy.capacity import CapacityLimits
from carbon_kube.policy.grids import IntensityGrid
from carbon_kube.policy.jobs import JobTable
from carbon_kube.policy.registry import POLICIES
from carbon_kube.providers.files import read_intensity_file
from carbon_kube.sim.engine import SimulationSettings, simulate

ZONES = ("US-MIDA-PJM", "US-CAL-CISO", "GB", "DE", "FR", "IE", "SE-SE3", "ES")
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "electricitymaps-hourly"


def load_truth(data: Path) -> IntensityGrid:
    series = {}
    for zone in ZONES:
        series.update(read_intensity_file(data / f"{zone}_2022_hourly.csv.gz"))
    return IntensityGrid({Zone(z): series[Zone(z)] for z in ZONES})


def make_jobs(truth: IntensityGrid, n: int, seed: int = 7) -> JobTable:
    rng = np.random.default_rng(seed)
    grid = truth.grid
    first = grid.origin_s + 86_400
    last = grid.end_s - 3 * 86_400
    submit = np.sort(rng.uniform(first, last, n)).round()
    duration = np.clip(np.exp(rng.normal(np.log(1200.0), 1.5, n)), 60, 48 * 3600).round()
    delay = np.where(duration < 7200, 6 * 3600, 24 * 3600)
    home = rng.integers(0, len(ZONES), n)
    allowed = np.zeros((n, len(ZONES)), dtype=bool)
    allowed[rng.random(n) < 0.5] = True
    allowed[np.arange(n), home] = True
    return JobTable(
        job_ids=[f"j{i}" for i in range(n)],
        zones=grid.zones,
        submit_s=submit,
        duration_s=duration,
        deadline_s=submit + delay + duration,
        cpus=rng.choice([1.0, 2.0, 4.0, 8.0, 16.0, 32.0], n),
        memory_gib=rng.choice([2.0, 4.0, 8.0, 16.0], n),
        home_zone=home.astype(np.int64),
        allowed=allowed,
        interruptible=rng.random(n) < 0.1,
    )


def run(
    truth: IntensityGrid, jobs: JobTable, forecast: str, capacity: CapacityLimits | None
) -> float:
    settings = SimulationSettings(
        tuple(POLICIES), default_power_model(), forecast=forecast, capacity=capacity
    )
    began = time.perf_counter()
    result = simulate(jobs, truth, settings)
    total = time.perf_counter() - began
    baseline = float(result.baseline.co2_g.sum())
    for name, outcome in result.outcomes.items():
        saved = 100 * (1 - float(outcome.co2_g.sum()) / baseline)
        print(
            f"  {name:15s} {outcome.seconds:7.2f} s plan+measure "
            f"{len(jobs) / outcome.seconds:12,.0f} jobs/s   saved {saved:6.2f} %   "
            f"split {outcome.schedule.split_rows.size:,}   "
            f"misses {int(outcome.deadline_missed.sum()):,}"
        )
    print(f"  total simulate(): {total:.2f} s for {len(jobs):,} jobs x {len(POLICIES)} policies")
    return total


def write_job_csv(jobs: JobTable, path: Path) -> None:
    """The bench's jobs in the simulator's job CSV contract (what `simulate --jobs` reads)."""
    zones = np.asarray(jobs.zones, dtype=object)
    everywhere = ";".join(jobs.zones)
    frame = pd.DataFrame(
        {
            "job_id": jobs.job_ids,
            "submit_time": pd.to_datetime(jobs.submit_s, unit="s", utc=True).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "duration_s": jobs.duration_s.astype(np.int64),
            "cpus": jobs.cpus,
            "memory_gib": jobs.memory_gib,
            "max_delay_s": (jobs.deadline_s - jobs.submit_s - jobs.duration_s).astype(np.int64),
            "zone": zones[jobs.home_zone],
            "allowed_zones": np.where(jobs.allowed.all(axis=1), everywhere, ""),
            "interruptible": np.where(jobs.interruptible, "true", "false"),
        }
    )
    frame.to_csv(path, index=False)


def run_cli(jobs_csv: Path, data: Path, out: Path, *extra: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one `carbon-kube simulate` process."""
    intensity = [str(data / f"{zone}_2022_hourly.csv.gz") for zone in ZONES]
    command = [
        str(Path(sys.executable).parent / "carbon-kube"), "simulate", "--jobs", str(jobs_csv),
        *(arg for path in intensity for arg in ("--intensity", path)),
        "--out", str(out), *extra,
    ]  # fmt: skip
    began = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603 - our CLI
    _, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - began
    if child.returncode != 0:
        raise SystemExit(f"carbon-kube simulate exited {child.returncode}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--forecast", choices=["oracle", "persistence"], default="oracle")
    parser.add_argument("--capacity-jobs", type=int, default=0)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--tracemalloc", action="store_true", help="slower; exact Python peak")
    parser.add_argument("--cli", action="store_true", help="also time `carbon-kube simulate`")
    args = parser.parse_args()
    if args.tracemalloc:
        tracemalloc.start()
    began = time.perf_counter()
    truth = load_truth(args.data)
    print(
        f"intensity: {len(ZONES)} zones x {truth.grid.n_steps} steps "
        f"({time.perf_counter() - began:.1f} s to read)"
    )
    began = time.perf_counter()
    jobs = make_jobs(truth, args.jobs)
    print(f"jobs: {len(jobs):,} generated in {time.perf_counter() - began:.1f} s")
    print(f"forecast {args.forecast}, unlimited capacity:")
    run(truth, jobs, args.forecast, None)
    if args.capacity_jobs:
        small = make_jobs(truth, args.capacity_jobs, seed=11)
        # Roughly the average demand x 1.5 per zone, so contention happens but all fits.
        demand = float((small.cpus * small.duration_s).sum()) / (truth.grid.n_steps * 3600)
        vcpus = max(64.0, 1.5 * demand / len(ZONES))
        print(
            f"forecast {args.forecast}, capacity {vcpus:,.0f} vCPUs per zone, {len(small):,} jobs:"
        )
        run(truth, small, args.forecast, CapacityLimits(dict.fromkeys(truth.grid.zones, vcpus)))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak_mib:,.0f} MiB")
    if args.cli:
        with tempfile.TemporaryDirectory(prefix="sim-scale-") as folder:
            root = Path(folder)
            began = time.perf_counter()
            write_job_csv(jobs, root / "jobs.csv")
            size_mb = (root / "jobs.csv").stat().st_size / 1e6
            print(f"job CSV: {size_mb:,.0f} MB written in {time.perf_counter() - began:.1f} s")
            print("carbon-kube simulate, whole command:")
            for label, extra in (("with jobs.csv", ()), ("--no-jobs-file", ("--no-jobs-file",))):
                # A rerun into the same folder removes the jobs.csv it does not replace.
                wall, rss = run_cli(root / "jobs.csv", args.data, root / "out", *extra)
                written = sum(p.stat().st_size for p in (root / "out").iterdir()) / 1e6
                print(
                    f"  {label:15s} {wall:6.1f} s  peak RSS {rss:,.0f} MiB  "
                    f"outputs {written:,.0f} MB  ({len(jobs) / wall:,.0f} jobs/s)"
                )
    if args.tracemalloc:
        print(f"tracemalloc peak: {tracemalloc.get_traced_memory()[1] / 2**20:,.0f} MiB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
