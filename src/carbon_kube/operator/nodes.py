"""Node labels the controller maintains: the node's grid zone and that zone's intensity (pure).

A node's grid zone comes from its cloud region (``topology.kubernetes.io/region``) through the
region -> grid-zone table; a node without a region, or in a region the table does not know, gets
no grid-zone label (and therefore never satisfies a plan's zone selector). The intensity label
is the zone's latest value in whole g/kWh; when the signal is unavailable the old value is
removed rather than left to look current.
"""

from __future__ import annotations

from collections.abc import Mapping

from carbon_kube.domain.annotations import GRID_ZONE_LABEL, INTENSITY_LABEL
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.zones import REGION_LABEL, RegionZoneMap, Zone

__all__ = ["REGION_LABEL", "grid_zone_of", "node_label_patch"]


def grid_zone_of(labels: Mapping[str, str] | None, regions: RegionZoneMap) -> Zone | None:
    """The grid zone a node with ``labels`` draws power from, or None when unknown."""
    region = (labels or {}).get(REGION_LABEL)
    if not region:
        return None
    try:
        return regions.zone_for(region)
    except InputError:
        return None


def node_label_patch(
    labels: Mapping[str, str] | None,
    zone: Zone | None,
    intensity_g_per_kwh: float | None,
) -> dict[str, object] | None:
    """A merge patch bringing the two labels up to date, or None when they already are.

    ``None`` values in the patch delete a label (JSON merge patch semantics).
    """
    current = dict(labels or {})
    wanted: dict[str, str | None] = {
        GRID_ZONE_LABEL: str(zone) if zone else None,
        INTENSITY_LABEL: (
            str(round(intensity_g_per_kwh))
            if zone is not None and intensity_g_per_kwh is not None
            else None
        ),
    }
    changes = {key: value for key, value in wanted.items() if current.get(key) != value}
    if not changes:
        return None
    return {"metadata": {"labels": changes}}
