"""Node labels the controller maintains: grid zone, its intensity, the node's power (pure).

A node's grid zone comes from its cloud region (``topology.kubernetes.io/region``) through the
region -> grid-zone table; a node without a region, or in a region the table does not know, gets
no grid-zone label (and therefore never satisfies a plan's zone selector). The intensity label
is the zone's latest value in whole g/kWh; when the signal is unavailable the old value is
removed rather than left to look current.

The power labels (facility watts per requested vCPU and GiB) come from the energy model for
the node's instance type, falling back to the cloud average as the extender does; with the
intensity they are all the native scheduler plugin needs (``policy.label_scoring``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from carbon_kube.domain.annotations import GRID_ZONE_LABEL, INTENSITY_LABEL
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.zones import REGION_LABEL, RegionZoneMap, Zone
from carbon_kube.energy.power import default_power_model
from carbon_kube.policy.label_scoring import power_labels

INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"

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
    """A merge patch bringing the four labels up to date, or None when they already are.

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
        **_power_labels(current.get(INSTANCE_TYPE_LABEL)),
    }
    changes = {key: value for key, value in wanted.items() if current.get(key) != value}
    if not changes:
        return None
    return {"metadata": {"labels": changes}}


@functools.cache
def _power_labels(instance_type: str | None) -> dict[str, str]:
    return power_labels(default_power_model(instance_type=instance_type))
