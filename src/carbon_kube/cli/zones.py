"""``carbon-kube zones``: which grid zone each cloud region draws from, and which have data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from carbon_kube.cli import paths
from carbon_kube.cli.output import OUTPUT, Answer, OutputFormat, emit
from carbon_kube.cli.schemas import CSV_COLUMNS
from carbon_kube.domain.errors import InputError
from carbon_kube.providers.embedded import embedded_year, embedded_zones
from carbon_kube.providers.regions import load_region_zone_map


def zones_command(
    cloud: str | None = typer.Option(None, help="Only this cloud: aws, gcp or azure."),
    region_map: Path | None = typer.Option(
        None,
        "--region-map",
        parser=paths.INPUT_TEXT,
        help="CSV with cloud,region,zone[,note] replacing the shipped table.",
    ),
    output: OutputFormat = OUTPUT,
) -> None:
    """List cloud regions and their grid zones; regions sharing a zone share a grid.

    The 'embedded' column marks zones that the offline embedded dataset covers (usable with no
    API key); the last line lists every embedded zone, mapped to a region or not.
    """
    with_data = set(embedded_zones())
    year = embedded_year()
    mappings = load_region_zone_map(region_map).mappings()
    if cloud is not None:
        clouds = sorted({mapping.cloud for mapping in mappings})
        cloud = cloud.strip().lower()
        if cloud not in clouds:
            raise InputError(
                f"unknown cloud {cloud!r}; the table has {', '.join(clouds)}", field="--cloud"
            )
    rows: list[dict[str, Any]] = [
        {
            "cloud": mapping.cloud,
            "region": mapping.region,
            "zone": str(mapping.zone),
            "where": mapping.note,
            "embedded": mapping.zone in with_data,
        }
        for mapping in mappings
        if cloud is None or mapping.cloud == cloud
    ]
    document = {
        "regions": rows,
        "embedded_year": year,
        "embedded_zones": sorted(with_data),
        "source": str(region_map) if region_map else "carbon_kube/data/region_zones.csv",
    }

    def table(console: Console) -> None:
        rendered = Table(title="Cloud region -> grid zone")
        for column in ("cloud", "region", "zone", "where", f"embedded {year}"):
            rendered.add_column(column)
        for row in rows:
            rendered.add_row(
                row["cloud"],
                row["region"],
                row["zone"],
                row["where"],
                "yes" if row["embedded"] else "",
            )
        console.print(rendered)
        console.print(
            f"Embedded data ({year}, hourly): {', '.join(sorted(with_data))}",
            markup=False,
            highlight=False,
        )

    emit(Answer(document, rows, table, columns=CSV_COLUMNS["zones"]), output)
