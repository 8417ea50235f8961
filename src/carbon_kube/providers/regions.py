"""Load the cloud-region -> grid-zone table shipped with the package, or a user's CSV.

The shipped table (``carbon_kube/data/region_zones.csv``) is the project's own judgement of
which Electricity Maps zone supplies each region, from the providers' published data-centre
locations; users override single rows (``--region-zone R=Z``) or the whole file.
"""

from __future__ import annotations

import csv
import io
from importlib import resources
from pathlib import Path

from carbon_kube.domain.errors import InputError
from carbon_kube.domain.zones import RegionMapping, RegionZoneMap, parse_zone
from carbon_kube.storage.reading import check_row_widths, read_user_text

_COLUMNS = ("cloud", "region", "zone")


def load_region_zone_map(path: Path | None = None) -> RegionZoneMap:
    """The shipped table, or ``path`` (CSV with ``cloud,region,zone[,note]``)."""
    if path is None:
        text = resources.files("carbon_kube.data").joinpath("region_zones.csv").read_text("utf-8")
        source = "carbon_kube/data/region_zones.csv"
    else:
        text = read_user_text(path)
        check_row_widths(text, path)
        source = str(path)
    return RegionZoneMap(parse_region_rows(text, source))


def parse_region_rows(text: str, source: str) -> list[RegionMapping]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(
            f"missing column(s) {missing}; expected cloud,region,zone[,note]", source=source, line=1
        )
    mappings = []
    first_line: dict[tuple[str, str], int] = {}
    for line, row in enumerate(reader, start=2):
        for column in _COLUMNS:
            if not (row.get(column) or "").strip():
                raise InputError("empty value", source=source, line=line, field=column)
        zone = parse_zone(row["zone"], source=source, line=line)
        key = (row["cloud"].strip(), row["region"].strip())
        if key in first_line:
            raise InputError(
                f"region {key[1]} of {key[0]} appears again (first on line {first_line[key]}); "
                "keep one row per region",
                source=source,
                line=line,
                field="region",
            )
        first_line[key] = line
        mappings.append(
            RegionMapping(
                row["cloud"].strip(), row["region"].strip(), zone, (row.get("note") or "").strip()
            )
        )
    return mappings
