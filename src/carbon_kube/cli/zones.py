"""``carbon-kube zones``: which grid zone each cloud region draws from, and which have data."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from carbon_kube.providers.embedded import embedded_year, embedded_zones
from carbon_kube.providers.regions import load_region_zone_map


def zones_command(
    cloud: str | None = typer.Option(None, help="Only this cloud: aws, gcp or azure."),
    region_map: Path | None = typer.Option(
        None, "--region-map", help="CSV with cloud,region,zone[,note] replacing the shipped table."
    ),
) -> None:
    """List cloud regions and their grid zones; regions sharing a zone share a grid.

    The 'embedded' column marks zones that the offline embedded dataset covers (usable with no
    API key); the last line lists every embedded zone, mapped to a region or not.
    """
    with_data = set(embedded_zones())
    year = embedded_year()
    table = Table(title="Cloud region -> grid zone")
    for column in ("cloud", "region", "zone", "where", f"embedded {year}"):
        table.add_column(column)
    for mapping in load_region_zone_map(region_map).mappings():
        if cloud is None or mapping.cloud == cloud:
            table.add_row(
                mapping.cloud,
                mapping.region,
                mapping.zone,
                mapping.note,
                "yes" if mapping.zone in with_data else "",
            )
    console = Console()
    console.print(table)
    console.print(
        f"Embedded data ({year}, hourly): {', '.join(sorted(with_data))}",
        markup=False,
        highlight=False,
    )
