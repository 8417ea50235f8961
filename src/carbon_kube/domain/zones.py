"""Grid zones and the cloud-region -> grid-zone table.

A ``Zone`` is an Electricity Maps grid-zone id (``DE``, ``US-MIDA-PJM``). Carbon intensity
belongs to a grid, not to an availability zone: every AZ of ``us-east-1`` is on PJM, so the
table maps *regions*, never AZs, and moving work between AZs of one region saves nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NewType

from carbon_kube.domain.errors import InputError

Zone = NewType("Zone", str)

# The node label the table is keyed by: set by the cloud provider when a node registers.
REGION_LABEL = "topology.kubernetes.io/region"

_ZONE_ID = re.compile(r"^[A-Z]{2}(-[A-Z0-9]+)*$")


def parse_zone(text: str, *, source: str | None = None, line: int | None = None) -> Zone:
    """Accept an Electricity Maps style zone id (``DE``, ``SE-SE3``, ``US-NW-BPAT``).

    Case is not folded here: ``eu-west-1`` is a cloud region, and upper-cased it would pass for
    a zone id. ``cli.options.parse_zone_option`` folds case for ids the region table knows.
    """
    candidate = text.strip()
    if not _ZONE_ID.match(candidate):
        raise InputError(
            f"expected a grid zone id such as 'DE' or 'US-MIDA-PJM', got {text!r}",
            source=source,
            line=line,
            field="zone",
        )
    return Zone(candidate)


@dataclass(frozen=True, slots=True)
class RegionMapping:
    """One cloud region and the grid zone its data centres draw from."""

    cloud: str
    region: str
    zone: Zone
    note: str = ""


class RegionZoneMap:
    """Cloud region -> grid zone, with user overrides taking precedence over shipped data."""

    def __init__(self, mappings: Iterable[RegionMapping]) -> None:
        self._by_region: dict[str, RegionMapping] = {}
        for mapping in mappings:
            self._by_region[mapping.region] = mapping

    def with_overrides(self, overrides: Mapping[str, Zone]) -> RegionZoneMap:
        """A new map where ``overrides`` (region -> zone) replace or add entries."""
        merged = dict(self._by_region)
        for region, zone in overrides.items():
            cloud = merged[region].cloud if region in merged else "custom"
            merged[region] = RegionMapping(cloud, region, zone, "override")
        return RegionZoneMap(merged.values())

    def zone_for(self, region: str) -> Zone:
        """The grid zone of ``region``; an unknown region names the way to fix it."""
        mapping = self._by_region.get(region)
        if mapping is None:
            raise InputError(
                f"no grid zone is known for cloud region {region!r}; add one with "
                f"--region-zone {region}=ZONE (or a --region-map CSV with cloud,region,zone)",
                field="region",
            )
        return mapping.zone

    def mappings(self) -> list[RegionMapping]:
        """All mappings, sorted by cloud then region."""
        return sorted(self._by_region.values(), key=lambda m: (m.cloud, m.region))

    def regions_outside(self, zones: Iterable[Zone]) -> list[str]:
        """Known regions whose grid zone is none of ``zones``, sorted."""
        inside = frozenset(zones)
        return sorted(m.region for m in self._by_region.values() if m.zone not in inside)

    def regions_in(self, zone: Zone) -> list[str]:
        """Regions that share ``zone``'s grid: moving work among them changes nothing."""
        return sorted(m.region for m in self._by_region.values() if m.zone == zone)
