"""``run_*``: the simulator's entry points, from files or from in-memory defaults.

Both build the true intensity grid, plan and measure every policy, and write ``summary.json``,
``jobs.csv`` and the chart atomically into the output folder. Library errors that are user
mistakes come out as ``InputError`` (exit code 2 in the CLI).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from carbon_kube.domain.errors import InputError
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.workloads import Workload
from carbon_kube.domain.zones import Zone
from carbon_kube.policy.capacity import CapacityError
from carbon_kube.policy.grids import IntensityGrid
from carbon_kube.policy.jobs import JobTable
from carbon_kube.providers.series_files import read_any_intensity
from carbon_kube.sim.engine import SimulationResult, SimulationSettings, simulate
from carbon_kube.sim.job_trace import OnMissing, check_against_intensity, read_job_trace
from carbon_kube.sim.model_forecasts import ForecastInputs
from carbon_kube.sim.plots import CHART_FILE, render_chart
from carbon_kube.sim.report import jobs_frames, summarise, write_outputs

T = TypeVar("T")

ProgressCallback = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class RunOutput:
    result: SimulationResult
    summaries: list[dict[str, Any]]
    files: list[Path]
    skipped_ids: list[str]


def run_simulation(
    jobs_path: Path,
    intensity_path: Path | Sequence[Path],
    out_dir: Path,
    settings: SimulationSettings,
    *,
    on_missing: OnMissing = OnMissing.ERROR,
    default_zone: Zone | None = None,
    default_max_delay: timedelta = timedelta(0),
    on_policy_done: ProgressCallback | None = None,
    forecast_inputs: ForecastInputs | None = None,
    forecast_files: Sequence[Path] = (),
    jobs_file: bool = True,
) -> RunOutput:
    """Simulate the jobs of ``jobs_path`` on the intensity of ``intensity_path``.

    ``intensity_path`` is one or more files, each holding other zones (long CSV, Electricity
    Maps export or DACF).
    ``forecast_inputs`` (provider forecasts, weather) were read from ``forecast_files``, which
    the summary names so every figure says what it was computed from.
    """
    paths = [intensity_path] if isinstance(intensity_path, Path) else list(intensity_path)
    series = read_intensity_files(paths)
    source = ", ".join(str(path) for path in paths)
    truth = _grid(series, source)
    if default_zone is None and len(truth.grid.zones) == 1:
        default_zone = truth.grid.zones[0]
    trace = read_job_trace(
        jobs_path, default_zone=default_zone, default_max_delay=default_max_delay
    )
    checked = check_against_intensity(trace, truth.grid, on_missing, source=str(jobs_path))
    if len(checked.jobs) == 0:
        raise InputError("every job was skipped for missing intensity data", source=jobs_path)
    inputs = {
        "jobs_file": str(jobs_path),
        "intensity_file": source,
        "zones": list(truth.grid.zones),
        "skipped_jobs": len(checked.skipped_ids),
    }
    if forecast_files:
        inputs["forecast_files"] = [str(path) for path in forecast_files]
    return _run(
        checked.jobs,
        truth,
        out_dir,
        settings,
        inputs,
        on_policy_done,
        checked.skipped_ids,
        forecast_inputs,
        jobs_file=jobs_file,
    )


def read_intensity_files(paths: Sequence[Path]) -> dict[Zone, IntensitySeries]:
    """Every zone of every file; a zone found in two files is refused, naming the second."""
    series: dict[Zone, IntensitySeries] = {}
    for path in paths:
        found = read_any_intensity(path).series
        for zone, zone_series in found.items():
            add_zone_once(series, zone, zone_series, path, "--intensity")
    return series


def add_zone_once(by_zone: dict[Zone, T], zone: Zone, value: T, path: Path, option: str) -> None:
    """Put one file's data for ``zone``; refused when an earlier file had the zone.

    Two files for one zone are never merged silently: which one should win is the user's call.
    """
    if zone in by_zone:
        raise InputError(
            f"zone {zone} is also in an earlier {option} file; give each zone in one file",
            source=path,
            field=option,
        )
    by_zone[zone] = value


def run_default(
    series_by_zone: Mapping[Zone, IntensitySeries],
    workloads: Sequence[Workload],
    out_dir: Path,
    settings: SimulationSettings,
    *,
    on_policy_done: ProgressCallback | None = None,
    description: str = "embedded default",
    jobs_file: bool = True,
) -> RunOutput:
    """Simulate in-memory ``workloads`` on ``series_by_zone`` (the no-argument default run)."""
    truth = _grid(series_by_zone, description)
    try:
        jobs = JobTable.from_workloads(workloads, truth.grid.zones)
    except KeyError as error:
        raise InputError(str(error.args[0]), source=description) from None
    inputs = {
        "jobs_file": description,
        "intensity_file": description,
        "zones": list(truth.grid.zones),
        "skipped_jobs": 0,
    }
    return _run(jobs, truth, out_dir, settings, inputs, on_policy_done, [], jobs_file=jobs_file)


def _grid(series: Mapping[Zone, IntensitySeries], source: object) -> IntensityGrid:
    try:
        return IntensityGrid(series)
    except ValueError as error:
        raise InputError(str(error), source=str(source)) from None


def _run(
    jobs: JobTable,
    truth: IntensityGrid,
    out_dir: Path,
    settings: SimulationSettings,
    inputs: dict[str, Any],
    on_policy_done: ProgressCallback | None,
    skipped_ids: list[str],
    forecast_inputs: ForecastInputs | None = None,
    *,
    jobs_file: bool = True,
) -> RunOutput:
    try:
        result = simulate(jobs, truth, settings, on_policy_done, inputs=forecast_inputs)
    except CapacityError as error:
        raise InputError(str(error), field="--capacity") from None
    summaries = summarise(result, inputs)
    title = f"{len(jobs):,} jobs, {len(truth.grid.zones)} zones, forecast {settings.forecast}"
    chart = render_chart(summaries, title)
    jobs_table = jobs_frames(result) if jobs_file else None
    files = write_outputs(out_dir, summaries, jobs_table, {CHART_FILE: chart})
    return RunOutput(result, summaries, files, skipped_ids)
