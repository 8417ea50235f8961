"""``carbon-kube simulate``: what carbon-aware scheduling would have saved on a set of jobs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from carbon_kube.cli import paths
from carbon_kube.cli.output import OUTPUT, Answer, OutputFormat, emit
from carbon_kube.cli.schemas import CSV_COLUMNS
from carbon_kube.cli.settings_options import field_option
from carbon_kube.domain.durations import format_duration, parse_duration
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.zones import Zone, parse_zone
from carbon_kube.energy.coefficients import (
    CLOUD_CPU_WATTS,
    CLOUD_PUE,
    DEFAULT_UTILISATION,
    MEMORY_WATTS_PER_GIB,
    Cloud,
)
from carbon_kube.energy.power import PowerModel
from carbon_kube.policy.capacity import CapacityLimits
from carbon_kube.policy.registry import POLICIES, parse_policy_names
from carbon_kube.policy.replanning import DEFAULT_REPLAN_TOLERANCE
from carbon_kube.policy.temporal import DEFAULT_RESUME_OVERHEAD
from carbon_kube.sim.defaults import DEFAULT_JOB_COUNT, DEFAULT_SEED, run_embedded_default
from carbon_kube.sim.engine import BASELINE, SimulationSettings
from carbon_kube.sim.forecast_inputs import read_forecast_inputs
from carbon_kube.sim.job_trace import OnMissing
from carbon_kube.sim.pages import caveats
from carbon_kube.sim.report import summary_table
from carbon_kube.sim.runs import RunOutput, run_simulation
from carbon_kube.sim.settings import SimulateSettings

_DEFAULT_WATTS_PER_VCPU = CLOUD_CPU_WATTS[Cloud.AWS].at_utilisation(DEFAULT_UTILISATION)


def simulate_command(
    jobs: Path | None = typer.Option(
        None,
        "--jobs",
        parser=paths.INPUT_TEXT,
        help="Job trace CSV: job_id,submit_time,duration_s,cpus[,...].",
    ),
    intensity: list[Path] = typer.Option(
        [],
        "--intensity",
        parser=paths.INPUT_FILE,
        help=(
            "Intensity file: long CSV/Parquet, Electricity Maps export or DACF "
            "*_direct_emissions file; repeat for zones kept in separate files."
        ),
    ),
    policy: str = typer.Option(
        ",".join(POLICIES), "--policy", help="Comma-separated policies to compare."
    ),
    out: Path = typer.Option(
        Path("carbon-kube-sim"),
        "--out",
        parser=paths.OUTPUT_FOLDER,
        help="Folder for summary.json, jobs.csv and the chart.",
    ),
    watts_per_vcpu: float = typer.Option(
        _DEFAULT_WATTS_PER_VCPU,
        min=0.0,
        max=1_000.0,
        help="Average power per vCPU (CCF AWS at 50 % utilisation).",
    ),
    pue: float = typer.Option(
        CLOUD_PUE[Cloud.AWS], min=1.0, max=3.0, help="Data-centre PUE (1..3)."
    ),
    memory_watts_per_gib: float = typer.Option(
        MEMORY_WATTS_PER_GIB, min=0.0, max=100.0, help="Power per GiB."
    ),
    capacity: list[str] = typer.Option(
        [], "--capacity", help="ZONE=VCPUS, repeatable; zones not given are unlimited."
    ),
    threshold_g_per_kwh: float = field_option(
        SimulateSettings, "threshold_g_per_kwh", "--threshold-g-per-kwh"
    ),
    latency_risk: float = field_option(SimulateSettings, "latency_risk", "--latency-risk"),
    duration_error: float = field_option(
        SimulateSettings, "duration_error_sigma", "--duration-error"
    ),
    forecast: str = field_option(SimulateSettings, "forecast", "--forecast"),
    provider_forecast: list[Path] = typer.Option(
        [],
        "--provider-forecast",
        parser=paths.INPUT_FILE,
        help=(
            "The source's own forecasts: DACF *_carbon_from_src_prod_forecasts file or a long "
            "CSV of forecast values; repeat per zone. Needed by --forecast provider."
        ),
    ),
    weather: list[Path] = typer.Option(
        [],
        "--weather",
        parser=paths.INPUT_PATH,
        help="Day-ahead weather for lightgbm: a DACF *_direct_emissions file; repeat per zone.",
    ),
    replan_every: str = typer.Option(
        "0h",
        help=(
            "Re-plan held jobs on a fresher forecast this often (e.g. 1h), as the controller "
            "does; 0h plans each job once, at submit."
        ),
    ),
    replan_tolerance: str = typer.Option(
        format_duration(DEFAULT_REPLAN_TOLERANCE),
        help=(
            "With --replan-every: a fresh plan replaces the old one only if it changes the zone "
            "or moves the release by at least this much (the controller's rule and default; "
            "0s takes every fresh plan)."
        ),
    ),
    forecast_quantile: float = field_option(
        SimulateSettings, "forecast_quantile", "--forecast-quantile"
    ),
    resume_overhead: str = typer.Option(
        format_duration(DEFAULT_RESUME_OVERHEAD),
        help="Restart time per extra segment of a split interruptible job (e.g. 5m, 0s).",
    ),
    pauses: bool = typer.Option(True, help="Let interruptible jobs pause and resume."),
    on_missing: OnMissing = typer.Option(
        OnMissing.ERROR, help="A job whose zone or window has no intensity data: error or skip."
    ),
    home_zone: str | None = typer.Option(
        None, help="Zone for jobs without one (default: the only zone of the intensity file)."
    ),
    default_jobs: int = typer.Option(
        DEFAULT_JOB_COUNT,
        min=1,
        max=10_000_000,
        help="Embedded default only: how many jobs to generate.",
    ),
    seed: int = typer.Option(
        DEFAULT_SEED, min=0, max=2**32 - 1, help="Embedded default only: generator seed."
    ),
    default_max_delay: str = typer.Option(
        "0h", help="Delay allowed to jobs without deadline or max_delay_s (e.g. 6h)."
    ),
    no_jobs_file: bool = typer.Option(
        False,
        "--no-jobs-file",
        help="Do not write jobs.csv (one row per job and policy; the largest output). "
        "`carbon-kube report` needs it.",
    ),
    output: OutputFormat = OUTPUT,
) -> None:
    """Replay jobs through carbon-aware policies on real intensity and report the savings.

    With no --jobs/--intensity it runs the embedded default (embedded carbon data and a
    workload generator fitted to the GAIA traces). Writes summary.json, jobs.csv and
    simulation.png into --out and prints a table per policy. Savings are against
    carbon-agnostic (start at submit in the home zone), attributed to time, region or both.
    """
    names = parse_policy_names(policy)
    knobs = SimulateSettings(
        forecast=forecast,
        forecast_quantile=forecast_quantile,
        threshold_g_per_kwh=threshold_g_per_kwh,
        latency_risk=latency_risk,
        duration_error_sigma=duration_error,
    )
    try:
        power = PowerModel(watts_per_vcpu, memory_watts_per_gib, pue)
    except ValueError as error:
        raise InputError(str(error), field="--pue/--watts-per-vcpu") from None
    replan = parse_duration(replan_every, "--replan-every")
    if replan and capacity:
        raise InputError(
            "re-planning with capacity limits is not modelled; drop --capacity or use 0h",
            field="--replan-every",
        )
    if replan % timedelta(hours=1):
        raise InputError(
            f"expected whole hours (the data's step), got {replan_every}", field="--replan-every"
        )
    tolerance = parse_duration(replan_tolerance, "--replan-tolerance")
    if tolerance < timedelta(0):
        raise InputError(
            f"must not be negative, got {replan_tolerance}", field="--replan-tolerance"
        )
    forecast_inputs = read_forecast_inputs(provider_forecast, weather)
    settings = knobs.simulation(
        tuple(names),
        power,
        resume_overhead=parse_duration(resume_overhead, "--resume-overhead"),
        pauses=pauses,
        capacity=parse_capacity(capacity) if capacity else None,
        replan_every=replan or None,
        replan_tolerance=tolerance,
    )
    console = Console(stderr=True)
    with _PolicyProgress(console, len(dict.fromkeys((BASELINE, *names)))) as (progress, task):

        def done(name: str) -> None:
            progress.update(task, advance=1, description=f"simulated {name}")

        if jobs is None and not intensity:
            if provider_forecast or weather:
                raise InputError(
                    "the embedded default has no provider forecasts or weather; give --jobs "
                    "and --intensity with them",
                    field="--provider-forecast" if provider_forecast else "--weather",
                )
            result = run_embedded_default(
                out, settings, done, default_jobs, seed, jobs_file=not no_jobs_file
            )
        elif jobs is None or not intensity:
            raise InputError(
                "give both --jobs and --intensity, or neither for the embedded default",
                field="--jobs" if jobs is None else "--intensity",
            )
        else:
            result = run_simulation(
                jobs,
                intensity,
                out,
                settings,
                on_missing=on_missing,
                default_zone=parse_zone(home_zone) if home_zone else None,
                default_max_delay=parse_duration(default_max_delay, "--default-max-delay"),
                on_policy_done=done,
                forecast_inputs=forecast_inputs,
                forecast_files=[*provider_forecast, *weather],
                jobs_file=not no_jobs_file,
            )
    _warn(console, result)
    emit(_answer(result, settings), output)


def parse_capacity(items: list[str]) -> CapacityLimits:
    """``["DE=64", "FR=32"]`` -> limits; a zone given twice or a bad number is an error."""
    limits: dict[Zone, float] = {}
    for item in items:
        zone_text, sep, vcpus_text = item.partition("=")
        if not sep:
            raise InputError(f"expected ZONE=VCPUS such as DE=64, got {item!r}", field="--capacity")
        zone = parse_zone(zone_text)
        try:
            vcpus = float(vcpus_text)
        except ValueError:
            vcpus = float("nan")
        if not vcpus > 0:
            raise InputError(
                f"expected a positive number of vCPUs for {zone}, got {vcpus_text!r}",
                field="--capacity",
            )
        if zone in limits:
            raise InputError(f"zone {zone} given twice", field="--capacity")
        limits[zone] = vcpus
    return CapacityLimits(limits)


class _PolicyProgress:
    """A rich progress bar over policies, transient so that the table stays readable."""

    def __init__(self, console: Console, total: int) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} policies"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,  # a bar in a log file is noise
        )
        self._total = total

    def __enter__(self) -> tuple[Progress, TaskID]:
        self._progress.start()
        task = self._progress.add_task("simulating", total=self._total)
        return self._progress, task

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()


def _warn(console: Console, output: RunOutput) -> None:
    """What the user must know about the run, on stderr so that -o json stays parseable."""
    if output.skipped_ids:
        shown = ", ".join(output.skipped_ids[:5])
        console.print(
            f"skipped {len(output.skipped_ids)} job(s) without intensity data: {shown}"
            + (" ..." if len(output.skipped_ids) > 5 else ""),
            markup=False,
        )
    infeasible = int(output.result.jobs.infeasible.sum())
    if infeasible:
        console.print(
            f"{infeasible} job(s) cannot meet their deadline even at submit: planned at "
            "submit and counted as deadline misses",
            markup=False,
        )


def _answer(output: RunOutput, settings: SimulationSettings) -> Answer:
    summaries = output.summaries
    rows = [
        {
            **summary,
            "saved_time_kg": summary["savings_by_lever_kg"]["time"],
            "saved_region_kg": summary["savings_by_lever_kg"]["region"],
            "saved_both_kg": summary["savings_by_lever_kg"]["time+region"],
            "saved_pause_kg": summary["savings_by_lever_kg"]["pause"],
        }
        for summary in summaries
    ]
    document = {
        "policies": summaries,
        "jobs": len(output.result.jobs),
        "forecast": settings.forecast,
        "skipped_jobs": output.skipped_ids,
        "files": [str(path) for path in output.files],
    }
    title = f"{len(output.result.jobs):,} jobs, forecast {settings.forecast}"

    def table(console: Console) -> None:
        console.print(summary_table(summaries, title))
        for note in caveats(summaries):
            console.print(note, markup=False, soft_wrap=True)
        for path in output.files:
            console.print(f"wrote {path}", markup=False)

    return Answer(document, rows, table, columns=CSV_COLUMNS["simulate"])
