"""``carbon-kube zones``: which grid zone each cloud region draws from."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from carbon_kube.providers.regions import load_region_zone_map


def zones_command(
    cloud: str | None = typer.Option(None, help="Only this cloud: aws, gcp or azure."),
    region_map: Path | None = typer.Option(
        None, "--region-map", help="CSV with cloud,region,zone[,note] replacing the shipped table."
    ),
) -> None:
    """List cloud regions and their grid zones; regions sharing a zone share a grid."""
    table = Table(title="Cloud region -> grid zone")
    for column in ("cloud", "region", "zone", "where"):
        table.add_column(column)
    for mapping in load_region_zone_map(region_map).mappings():
        if cloud is None or mapping.cloud == cloud:
            table.add_row(mapping.cloud, mapping.region, mapping.zone, mapping.note)
    Console().print(table)
