"""``carbon-kube metrics export``: Carbon-Kube's series from Prometheus into a folder.

Parses options, fetches every query of ``exports.queries`` over the HTTP API and writes the
folder with ``exports.files`` (manifest.json + samples.csv, atomically). The savings notebook
reads the result as it reads a ``simulate --out`` folder.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from carbon_kube.cli import paths
from carbon_kube.cli.options import parse_instant
from carbon_kube.domain.durations import parse_duration
from carbon_kube.domain.errors import InputError
from carbon_kube.exports.files import check_destination, write_metrics_export
from carbon_kube.exports.prometheus import RangeSeries, query_range
from carbon_kube.exports.queries import QUERIES, ExportedQuery
from carbon_kube.lab.clock import real_utc_now

app = typer.Typer(
    help="Carbon-Kube's Prometheus series as files (for notebooks/plot_savings.ipynb).",
    no_args_is_help=True,
)


@app.command("export")
def export_command(
    prometheus: str = typer.Option(
        ..., "--prometheus", help="Prometheus base URL, e.g. http://prometheus:9090."
    ),
    start: str = typer.Option(..., "--start", help="First instant (RFC 3339 or a date, UTC)."),
    end: str = typer.Option(..., "--end", help="Last instant (RFC 3339 or a date, UTC)."),
    step: str = typer.Option(
        "1m", "--step", help="Spacing of the exported samples (a duration: 15s, 1m, 1h)."
    ),
    out: Path = typer.Option(
        ...,
        "--out",
        parser=paths.OUTPUT_FOLDER,
        help="Folder to write (manifest.json, samples.csv).",
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace --out if it exists (atomically)."
    ),
    timeout_s: float = typer.Option(
        30.0, "--timeout-seconds", min=0.1, max=3_600.0, help="HTTP timeout per Prometheus request."
    ),
) -> None:
    """Export the savings, intensity and held-work series between --start and --end.

    Counters are exported raw, per scraped instance, so the reader adds up increases exactly
    and treats a drop as a process restart. The folder is replaced only as a whole.
    """
    first = parse_instant(start, "--start")
    last = parse_instant(end, "--end")
    spacing = parse_duration(step, "--step")
    if last <= first:
        raise InputError("--end must be after --start", field="--end")
    if spacing <= timedelta(0):
        raise InputError("--step must be positive", field="--step")
    check_destination(out, overwrite=overwrite)
    fetched: list[tuple[ExportedQuery, list[RangeSeries]]] = []
    console = Console(stderr=True)
    with (
        httpx.Client(timeout=timeout_s) as client,
        Progress(
            TextColumn("export {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task(prometheus, total=len(QUERIES))
        for query in QUERIES:
            series = query_range(
                client, prometheus, query.expr, start=first, end=last, step=spacing
            )
            fetched.append((query, series))
            progress.advance(task)
    written = write_metrics_export(
        out,
        fetched,
        prometheus_url=prometheus,
        start=first,
        end=last,
        step=spacing,
        exported_at=real_utc_now(),
        overwrite=overwrite,
    )
    total = sum(len(s.samples) for _, series in fetched for s in series)
    count = sum(len(series) for _, series in fetched)
    Console(highlight=False).print(
        f"wrote {written}: {count} series, {total} samples", markup=False
    )
