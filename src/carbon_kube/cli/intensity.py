"""``carbon-kube intensity ...``: look at carbon-intensity data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from carbon_kube.cli.options import parse_instant
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.zones import Zone, parse_zone
from carbon_kube.providers.files import GapFill, ReadOptions, read_intensity_file

app = typer.Typer(help="Show and fetch grid carbon intensity.", no_args_is_help=True)


@app.command("show")
def show(
    zone: str = typer.Option(..., "--zone", "-z", help="Grid zone id, e.g. DE or US-MIDA-PJM."),
    file: Path = typer.Option(..., "--file", help="Intensity file (long CSV, EM export, Parquet)."),
    start: str | None = typer.Option(None, help="First instant to show (RFC 3339 or date)."),
    end: str | None = typer.Option(None, help="Instant to stop before (RFC 3339 or date)."),
    fill_gaps: GapFill = typer.Option(GapFill.ERROR, help="How to treat gaps in the data."),
    assume_utc: bool = typer.Option(
        False, help="Read offset-less times of a two-column single-zone file as UTC."
    ),
) -> None:
    """Print summary statistics and a daily table of a zone's intensity."""
    wanted = parse_zone(zone)
    series_by_zone = read_intensity_file(
        file, ReadOptions(gap_fill=fill_gaps, zone=wanted, assume_utc=assume_utc)
    )
    series = _pick(series_by_zone, wanted, str(file))
    if start or end:
        series = series.between(
            parse_instant(start, "--start") if start else series.start,
            parse_instant(end, "--end") if end else series.end,
        )
    _print_summary(series)


def _pick(series_by_zone: dict[Zone, IntensitySeries], zone: Zone, source: str) -> IntensitySeries:
    if zone not in series_by_zone:
        known = ", ".join(sorted(series_by_zone)) or "none"
        raise InputError(f"zone {zone} is not in the data (zones present: {known})", source=source)
    return series_by_zone[zone]


def _print_summary(series: IntensitySeries) -> None:
    values = series.values_g_per_kwh
    table = Table(
        title=f"{series.zone}: {series.start:%Y-%m-%d %H:%M} .. {series.end:%Y-%m-%d %H:%M} UTC"
    )
    for column in ("values", "step", "mean g/kWh", "min", "p10", "p50", "p90", "max"):
        table.add_column(column, justify="right")
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    table.add_row(
        str(len(series)),
        str(series.step),
        f"{values.mean():.1f}",
        f"{values.min():.1f}",
        f"{p10:.1f}",
        f"{p50:.1f}",
        f"{p90:.1f}",
        f"{values.max():.1f}",
    )
    Console().print(table)
