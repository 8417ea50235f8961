"""``carbon-kube intensity ...``: look at carbon-intensity data.

Without ``--file`` the embedded dataset (a real year of hourly data shipped in the package) is
shown, so the command works offline on a fresh install.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from carbon_kube.cli import paths
from carbon_kube.cli.fetch import fetch_command
from carbon_kube.cli.options import parse_instant, parse_zone_option
from carbon_kube.cli.output import OUTPUT, Answer, OutputFormat, emit
from carbon_kube.cli.schemas import CSV_COLUMNS
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.instants import format_rfc3339
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.embedded import embedded_year, load_embedded_series
from carbon_kube.providers.files import GapFill, ReadOptions
from carbon_kube.providers.series_files import read_any_intensity
from carbon_kube.sim.intensity_chart import write_intensity_chart

app = typer.Typer(help="Show and fetch grid carbon intensity.", no_args_is_help=True)


@app.command("show")
def show(
    zone: str = typer.Option(..., "--zone", "-z", help="Grid zone id, e.g. DE or US-MIDA-PJM."),
    file: Path | None = typer.Option(
        None,
        "--file",
        parser=paths.INPUT_FILE,
        help="Intensity file (long CSV or Parquet, Electricity Maps export, two columns with "
        "--assume-utc, or a DACF *_direct_emissions file). Default: the embedded dataset.",
    ),
    start: str | None = typer.Option(None, help="First instant to show (RFC 3339 or date)."),
    end: str | None = typer.Option(None, help="Instant to stop before (RFC 3339 or date)."),
    fill_gaps: GapFill = typer.Option(GapFill.ERROR, help="How to treat gaps in the data."),
    assume_utc: bool = typer.Option(
        False, help="Read offset-less times of a two-column single-zone file as UTC."
    ),
    plot: Path | None = typer.Option(
        None,
        "--plot",
        parser=paths.OUTPUT_FILE,
        help="Also draw the shown series to this PNG file (written atomically).",
    ),
    output: OutputFormat = OUTPUT,
) -> None:
    """Print summary statistics of a zone's intensity; by default from the embedded dataset.

    The embedded dataset is a real year (see `carbon-kube zones` for its zones) of hourly
    life-cycle intensity derived from ENTSO-E generation by fuel; pass --file to read your own.
    """
    wanted = parse_zone_option(zone)
    if file is None:
        series_by_zone = load_embedded_series()
        source, column = f"embedded dataset, ENTSO-E {embedded_year()}", "g_per_kwh (LCA)"
    else:
        table = read_any_intensity(
            file, ReadOptions(gap_fill=fill_gaps, zone=wanted, assume_utc=assume_utc)
        )
        series_by_zone, source, column = table.series, str(file), table.column
    series = _pick(series_by_zone, wanted, source if file else None)
    if start or end:
        series = _window(
            series,
            parse_instant(start, "--start") if start else series.start,
            parse_instant(end, "--end") if end else series.end,
            both_given=bool(start and end),
        )
    if plot is not None:
        write_intensity_chart(series, plot, source=source)
    emit(_summary(series, source, column), output)
    if plot is not None:
        Console(stderr=True).print(f"wrote {plot}", markup=False, highlight=False)


def _pick(
    series_by_zone: dict[Zone, IntensitySeries], zone: Zone, file: str | None
) -> IntensitySeries:
    if zone not in series_by_zone:
        known = ", ".join(sorted(series_by_zone)) or "none"
        if file is None:
            raise InputError(
                f"zone {zone} has no embedded data (embedded zones: {known}); "
                "pass --file for other zones",
                field="--zone",
            )
        raise InputError(f"zone {zone} is not in the data (zones present: {known})", source=file)
    return series_by_zone[zone]


def _window(
    series: IntensitySeries, start: datetime, end: datetime, *, both_given: bool
) -> IntensitySeries:
    if end <= start and both_given:
        raise InputError(
            f"--end {end.isoformat()} must be after --start {start.isoformat()}", field="--end"
        )
    try:
        if end <= start:
            # Only one bound was given and it lies past the data: nothing to show.
            raise KeyError(series.zone)
        return series.between(start, end)
    except KeyError:
        raise InputError(
            f"no {series.zone} data in [{start.isoformat()}, {end.isoformat()}); the data covers "
            f"[{series.start.isoformat()}, {series.end.isoformat()})",
            field="--start",
        ) from None


def _summary(series: IntensitySeries, source: str, column: str) -> Answer:
    values = series.values_g_per_kwh
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    row: dict[str, Any] = {
        "zone": str(series.zone),
        "start": format_rfc3339(series.start),
        "end": format_rfc3339(series.end),
        "values": len(series),
        "step_s": int(series.step.total_seconds()),
        "mean_g_per_kwh": round(float(values.mean()), 3),
        "min_g_per_kwh": round(float(values.min()), 3),
        "p10_g_per_kwh": round(float(p10), 3),
        "p50_g_per_kwh": round(float(p50), 3),
        "p90_g_per_kwh": round(float(p90), 3),
        "max_g_per_kwh": round(float(values.max()), 3),
        "source": source,
        "column": column,
    }

    def table(console: Console) -> None:
        rendered = Table(
            title=f"{series.zone}: {series.start:%Y-%m-%d %H:%M} .. "
            f"{series.end:%Y-%m-%d %H:%M} UTC",
            caption="gCO₂eq/kWh",
        )
        for heading in ("values", "step", "mean g/kWh", "min", "p10", "p50", "p90", "max"):
            rendered.add_column(heading, justify="right")
        rendered.add_row(
            str(len(series)),
            str(series.step),
            *(f"{row[key]:.1f}" for key in ("mean_g_per_kwh", "min_g_per_kwh", "p10_g_per_kwh")),
            *(f"{row[key]:.1f}" for key in ("p50_g_per_kwh", "p90_g_per_kwh", "max_g_per_kwh")),
        )
        console.print(rendered)
        console.print(f"source: {source}; column: {column}", markup=False, soft_wrap=True)

    return Answer(row, [row], table, columns=CSV_COLUMNS["intensity show"])


app.command("fetch")(fetch_command)
