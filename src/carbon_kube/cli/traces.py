"""``carbon-kube traces ...``: turn public job traces into the job-trace CSV contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from carbon_kube.cli import paths
from carbon_kube.cli.options import parse_instant, parse_zone_option
from carbon_kube.cli.output import stdout_console
from carbon_kube.domain.durations import readable_seconds
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.zones import parse_zone
from carbon_kube.sim.job_trace import write_jobs_csv
from carbon_kube.sim.traces import (
    DEFAULT_START,
    AlibabaUnit,
    ConvertedTrace,
    ConvertOptions,
    SwimModel,
    TimeUnit,
    TraceFormat,
    convert_trace,
    parse_slack,
)

app = typer.Typer(help="Convert public job traces for the simulator.", no_args_is_help=True)

_DEFAULT_SWIM = SwimModel()


@app.command("convert")
def convert(
    trace_format: TraceFormat = typer.Option(
        ...,
        "--format",
        help="gaia (arrival_time,length,cpus), swim (Facebook MapReduce TSV) or "
        "alibaba-batch (v2018 batch_task rows).",
    ),
    input_path: Path = typer.Option(
        ..., "--input", parser=paths.INPUT_TEXT, help="Trace file (.csv, .tsv, or .gz)."
    ),
    out: Path = typer.Option(
        ..., "--out", parser=paths.OUTPUT_FILE, help="Job CSV to write (replaced atomically)."
    ),
    start: str = typer.Option(
        DEFAULT_START.strftime("%Y-%m-%d"),
        help="Calendar instant of the trace's t = 0 (RFC 3339 or a date meaning 00:00 UTC).",
    ),
    zone: str | None = typer.Option(None, help="Home grid zone of every job, e.g. DE."),
    allowed_zones: str | None = typer.Option(
        None, help="Zones every job may move to, separated by ';' (e.g. 'DE;FR;GB')."
    ),
    slack: str = typer.Option(
        "gaia",
        help="How long a job may wait before starting: gaia (6 h for jobs < 2 h, else 24 h), "
        "gaia:SHORT,LONG[,CUTOFF], a duration such as 6h, a factor such as 2x, or none.",
    ),
    limit: int | None = typer.Option(
        None, min=1, max=10**9, help="Keep only the first N jobs by submit time."
    ),
    interruptible: bool | None = typer.Option(
        None,
        "--interruptible/--not-interruptible",
        help="Mark every job as able (or not) to pause; left out when not given.",
    ),
    time_unit: TimeUnit = typer.Option(
        TimeUnit.HOURS, help="gaia: unit of arrival_time and length (pai_1k.csv uses seconds)."
    ),
    unit: AlibabaUnit = typer.Option(
        AlibabaUnit.JOB, help="alibaba-batch: one output row per job or per task."
    ),
    machine_memory_gib: float | None = typer.Option(
        None,
        min=0.0,
        max=1e6,
        help="alibaba-batch: GiB of one machine, to turn plan_mem (0..100) into GiB; "
        "without it the memory column is left out.",
    ),
    swim_map_mib_per_s: float = typer.Option(
        _DEFAULT_SWIM.map_mib_per_s_per_vcpu, min=0.001, max=1e6, help="swim: map MiB/s per vCPU."
    ),
    swim_reduce_mib_per_s: float = typer.Option(
        _DEFAULT_SWIM.reduce_mib_per_s_per_vcpu,
        min=0.001,
        max=1e6,
        help="swim: shuffle+reduce MiB/s per vCPU.",
    ),
    swim_max_vcpus: int = typer.Option(
        _DEFAULT_SWIM.max_parallel_vcpus,
        min=1,
        max=1_000_000,
        help="swim: most vCPUs one phase may use.",
    ),
) -> None:
    """Convert a job trace into the job CSV contract (job_id,submit_time,duration_s,cpus,...).

    Traces count time from their own start and record no deadlines, so --start places t = 0 on
    the calendar and --slack decides how long each job may wait (deadline = submit + wait +
    duration). docs/traces.md states every model and assumption.
    """
    if out.resolve() == input_path.resolve():
        raise InputError("--out must not be the --input file", field="--out")
    if not out.parent.is_dir():
        raise InputError(f"directory {out.parent} does not exist", field="--out")
    options = ConvertOptions(
        start=parse_instant(start, "--start"),
        slack=parse_slack(slack),
        zone=parse_zone_option(zone) if zone else None,
        allowed_zones=tuple(parse_zone(z) for z in (allowed_zones or "").split(";") if z.strip()),
        interruptible=interruptible,
        limit=limit,
    )
    swim_model = SwimModel(
        map_mib_per_s_per_vcpu=swim_map_mib_per_s,
        reduce_mib_per_s_per_vcpu=swim_reduce_mib_per_s,
        max_parallel_vcpus=swim_max_vcpus,
    )
    console = Console(stderr=True)
    with console.status(f"converting {input_path} ({trace_format})"):
        result = convert_trace(
            trace_format,
            input_path,
            options,
            time_unit=time_unit,
            swim_model=swim_model,
            alibaba_unit=unit,
            machine_memory_gib=machine_memory_gib,
        )
        write_jobs_csv(result.table, out)
    _print_summary(result, out)


def _print_summary(result: ConvertedTrace, out: Path) -> None:
    table = result.table
    summary = Table(title=f"{out}: {len(table)} jobs from {result.rows_read} source rows")
    summary.add_column("what")
    summary.add_column("value")
    for reason, count in result.skipped.items():
        summary.add_row(f"skipped: {reason}", str(count))
    if len(table):
        first = np.datetime64(int(table.submit_s.min()), "s")
        last = np.datetime64(int(table.submit_s.max()), "s")
        summary.add_row("submits", f"{first}Z .. {last}Z")
        p50, p95 = np.percentile(table.duration_s, [50, 95])
        summary.add_row("duration p50 / p95", f"{readable_seconds(p50)} / {readable_seconds(p95)}")
        summary.add_row("vCPU-hours", f"{table.cpu_hours():,.0f}")
    for note in result.notes:
        summary.add_row("note", note)
    stdout_console().print(summary)
